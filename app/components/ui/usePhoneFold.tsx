'use client';
// A page's filter form folded behind one "Filters (N)" button on a phone (under 640 px), so the first rows are on
// the first screen; from 640 px up the form always shows and the button is hidden. Issue 15 item 5.
import { useId, useState, type ReactNode } from 'react';
import { buttonClass } from './buttons';

export interface PhoneFold {
  /** The "Filters (N)" button; render it before the form. */
  toggle: ReactNode;
  /** The form's id (the button's aria-controls). */
  id: string;
  /** The form's display: add it with `sm:flex` (or the form's own display from 640 px). */
  display: 'flex' | 'hidden';
}

/** `active`: how many filters are set; `open`: start unfolded (a value needs fixing). */
export function usePhoneFold({ active, open = false }: { active: number; open?: boolean }): PhoneFold {
  const id = useId();
  const [unfolded, setUnfolded] = useState(open);
  const toggle = (
    <button type="button" className={`${buttonClass.secondary} sm:hidden`} aria-expanded={unfolded} aria-controls={id} onClick={() => setUnfolded((u) => !u)} data-testid="filters-toggle">
      Filters ({active})
    </button>
  );
  return { toggle, id, display: unfolded ? 'flex' : 'hidden' };
}
