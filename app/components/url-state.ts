// The one URL-state helper: a page declares its query parameters once (name -> codec) and the same declaration
// reads the URL - on the server from searchParams, in the browser from location.search - and writes it back,
// defaults left out so links stay short. Reading is lenient (a value it cannot use reads as the default);
// pages that must explain a bad value validate separately (see connections/url-validation.ts).

/** The page sizes every grid offers. */
export const PAGE_SIZES = [50, 100, 250, 500] as const;
export const DEFAULT_PAGE_SIZE = 100;

// Methods, not function properties: a Codec<number> must fit where a page's declaration asks for Codec<unknown>.
export interface Codec<T> {
  read(raw: string | undefined): T;
  /** undefined: the parameter is left out of the URL (the default, or nothing). */
  write(value: T): string | undefined;
}

export type RawSearch = Record<string, string | string[] | undefined> | URLSearchParams;
type ValueOf<C> = C extends Codec<infer T> ? T : never;
export type UrlValues<C extends Record<string, Codec<unknown>>> = { [K in keyof C]: ValueOf<C[K]> };

const firstOf = (raw: RawSearch, key: string): string | undefined => {
  if (raw instanceof URLSearchParams) return raw.get(key) ?? undefined;
  const value = raw[key];
  return Array.isArray(value) ? value[0] : value;
};

/** Free text: trimmed, empty means absent. */
export const text = (): Codec<string | undefined> => ({
  read: (raw) => raw?.trim() || undefined,
  write: (value) => value?.trim() || undefined,
});

/** One of a fixed list of words; anything else reads as the fallback, which is left out when written. */
export function oneOf<const V extends string>(values: readonly V[], fallback: V): Codec<V> {
  return {
    read: (raw) => (raw !== undefined && (values as readonly string[]).includes(raw) ? (raw as V) : fallback),
    write: (value) => (value === fallback ? undefined : value),
  };
}

/** One of a fixed list of words, or absent. */
export function optionalOneOf<const V extends string>(values: readonly V[]): Codec<V | undefined> {
  return {
    read: (raw) => (raw !== undefined && (values as readonly string[]).includes(raw) ? (raw as V) : undefined),
    write: (value) => value,
  };
}

/** A whole number, at least min (and one of allowed, when given); otherwise the fallback, left out when written. */
export function wholeNumber(options: { fallback: number; min?: number; allowed?: readonly number[] }): Codec<number> {
  const ok = (n: number) => Number.isSafeInteger(n) && n >= (options.min ?? 0) && (!options.allowed || options.allowed.includes(n));
  return {
    read: (raw) => {
      const n = raw !== undefined && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
      return ok(n) ? n : options.fallback;
    },
    write: (value) => (value === options.fallback || !ok(value) ? undefined : String(value)),
  };
}

/** A whole number, or absent (an id). */
export const optionalWholeNumber = (): Codec<number | undefined> => ({
  read: (raw) => (raw !== undefined && /^\d+$/.test(raw.trim()) && Number.isSafeInteger(Number(raw.trim())) ? Number(raw.trim()) : undefined),
  write: (value) => (value === undefined ? undefined : String(value)),
});

/** An instant, kept as the ISO text the API takes; absent when it does not parse. */
export const instant = (): Codec<string | undefined> => ({
  read: (raw) => {
    const ms = raw ? Date.parse(raw.trim()) : NaN;
    return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
  },
  write: (value) => value,
});

export interface UrlState<C extends Record<string, Codec<unknown>>> {
  keys: (keyof C & string)[];
  read: (raw: RawSearch) => UrlValues<C>;
  /** URLSearchParams of the values, in declaration order, defaults left out. */
  params: (values: UrlValues<C>) => URLSearchParams;
  /** "?a=1&b=2", or "" when every value is its default. */
  search: (values: UrlValues<C>) => string;
}

export function urlState<C extends Record<string, Codec<unknown>>>(codecs: C): UrlState<C> {
  const keys = Object.keys(codecs) as (keyof C & string)[];
  const params = (values: UrlValues<C>) => {
    const out = new URLSearchParams();
    for (const key of keys) {
      const written = (codecs[key] as Codec<unknown>).write(values[key]);
      if (written !== undefined && written !== '') out.set(key, written);
    }
    return out;
  };
  return {
    keys,
    read: (raw) => Object.fromEntries(keys.map((key) => [key, codecs[key].read(firstOf(raw, key))])) as UrlValues<C>,
    params,
    search: (values) => {
      const text = params(values).toString();
      return text ? `?${text}` : '';
    },
  };
}
