// A strict reader of the Prometheus text exposition format (0.0.4), for tests: every line must be a HELP, a
// TYPE or a sample; a family's HELP and TYPE come before its samples, once; its samples are contiguous; a
// histogram has _bucket samples with an `le` label ending at +Inf, then _sum and _count.
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const VALUE = '(?:[-+]?(?:\\d+\\.?\\d*(?:[eE][-+]?\\d+)?|\\.\\d+(?:[eE][-+]?\\d+)?)|[-+]?[Ii][Nn][Ff]|[Nn][Aa][Nn])';
const HELP_LINE = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL}="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"(?:,${LABEL}="(?:[^"\\\\\\n]|\\\\[\\\\"n])*")*,?)?)\\})? (${VALUE})(?: -?\\d+)?$`);
const LABEL_PAIR = new RegExp(`(${LABEL})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`, 'g');

const SUFFIXES: Record<Family['type'], string[]> = { counter: [''], gauge: [''], untyped: [''], histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };

// Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes "Nan").
function parseValue(text: string): number {
  if (/inf$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  return /^nan$/i.test(text) ? NaN : Number(text);
}

/** Parses the exposition or throws naming the first bad line. */
export function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, Family>();
  const pending = new Map<string, Partial<Family>>();
  const closed = new Set<string>();
  let current: Family | undefined;
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, index) => {
    const where = `line ${index + 1} "${line}"`;
    if (line === '') return;
    let m = HELP_LINE.exec(line);
    if (m) {
      if (families.has(m[1]) || pending.get(m[1])?.help !== undefined) throw new Error(`${where}: second HELP for ${m[1]}`);
      pending.set(m[1], { ...pending.get(m[1]), name: m[1], help: m[2] });
      return;
    }
    m = TYPE_LINE.exec(line);
    if (m) {
      if (families.has(m[1]) || pending.get(m[1])?.type !== undefined) throw new Error(`${where}: second TYPE for ${m[1]}`);
      pending.set(m[1], { ...pending.get(m[1]), name: m[1], type: m[2] as Family['type'] });
      return;
    }
    if (line.startsWith('#')) throw new Error(`${where}: a comment that is neither HELP nor TYPE`);
    m = SAMPLE_LINE.exec(line);
    if (!m) throw new Error(`${where}: not a valid sample`);
    const [, name, labelText, valueText] = m;
    const labels: Record<string, string> = {};
    for (const pair of (labelText ?? '').matchAll(LABEL_PAIR)) {
      if (pair[1] in labels) throw new Error(`${where}: label ${pair[1]} twice`);
      labels[pair[1]] = pair[2];
    }
    // A sample's family: the current one, else the declared family of exactly its name, else the longest declared
    // name it starts with (nodejs_active_requests_total is its own gauge, not a sample of nodejs_active_requests,
    // which prom-client declares without samples when no request is active).
    const declaredNames = [...pending.keys()];
    const familyName =
      current && SUFFIXES[current.type].some((s) => name === current?.name + s)
        ? current.name
        : declaredNames.includes(name)
          ? name
          : declaredNames.filter((f) => name.startsWith(f)).sort((a, b) => b.length - a.length)[0];
    if (!current || familyName !== current.name) {
      if (!familyName) throw new Error(`${where}: sample without a HELP and TYPE before it`);
      const declared = pending.get(familyName);
      if (!declared || declared.help === undefined || declared.type === undefined) throw new Error(`${where}: ${familyName} needs both HELP and TYPE before its samples`);
      if (closed.has(familyName)) throw new Error(`${where}: samples of ${familyName} are not contiguous`);
      if (current) closed.add(current.name);
      current = { name: familyName, help: declared.help, type: declared.type, samples: [] };
      pending.delete(familyName);
      families.set(familyName, current);
    }
    if (!SUFFIXES[current.type].some((s) => name === current?.name + s)) throw new Error(`${where}: ${name} does not belong to the ${current.type} ${current.name}`);
    if (current.type === 'histogram' && name.endsWith('_bucket') && labels.le === undefined) throw new Error(`${where}: a histogram bucket without le`);
    current.samples.push({ name, labels, value: parseValue(valueText) });
  });
  for (const family of families.values()) {
    if (family.type !== 'histogram') continue;
    const infinite = family.samples.filter((s) => s.name.endsWith('_bucket') && s.labels.le === '+Inf').length;
    const counts = family.samples.filter((s) => s.name.endsWith('_count')).length;
    if (infinite !== counts) throw new Error(`${family.name}: every series needs a +Inf bucket and a _count`);
  }
  return families;
}

/** The one sample of `name` with exactly these labels (or the only sample when none are given). */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => sample.labels[k] === v)) return sample.value;
    }
  }
  return undefined;
}
