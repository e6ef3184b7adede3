// Button looks, as class names: one place to change them.
const base = 'inline-flex items-center gap-1 rounded-md px-3 py-1.5 text-sm font-medium disabled:cursor-not-allowed disabled:opacity-50';
export const buttonClass = {
  primary: `${base} bg-sky-700 text-white hover:bg-sky-800`,
  secondary: `${base} border border-slate-300 bg-white text-slate-800 hover:bg-slate-100`,
  danger: `${base} bg-red-700 text-white hover:bg-red-800`,
  dangerOutline: `${base} border border-red-300 bg-white text-red-700 hover:bg-red-50`,
  ghost: `${base} text-slate-700 hover:bg-slate-100`,
} as const;
