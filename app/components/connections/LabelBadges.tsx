// A connection's labels as small badges (names from connlabel.conf, bit numbers otherwise).
export function LabelBadges({ labels }: { labels: readonly string[] }) {
  return (
    <span className="inline-flex flex-wrap gap-1 font-sans" data-testid="label-badges">
      {labels.map((label) => (
        <span key={label} className="rounded-full border border-violet-300 bg-violet-50 px-2 py-0.5 text-xs text-violet-900" data-testid="label-badge">
          {label}
        </span>
      ))}
    </span>
  );
}
