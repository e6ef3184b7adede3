// What a typed confirmation accepts: the word shown, exactly and case-sensitively, ignoring only the spaces
// around it (a paste often brings them). "flush" or "Clear" does not confirm FLUSH or CLEAR.
export const FLUSH_WORD = 'FLUSH';
export const CLEAR_WORD = 'CLEAR';

export const typedMatches = (word: string, typed: string): boolean => typed.trim() === word;
