'use client';
// One time-series chart on uPlot (canvas; made for time series, fast with many thousands of points): lines over a
// shared time axis, a crosshair whose values show in the legend (synced between the page's charts), and
// vertical markers for events such as flushes. Loaded with a dynamic import (TrendCharts.tsx), so the page never
// waits for it. Canvas cannot read CSS variables: the colours are resolved from the page's palette when the
// chart is built, and it is built again when the theme changes.
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartLine {
  label: string;
  /** One value per time; null where there is no sample. */
  values: (number | null)[];
  /** A palette colour of app/globals.css, e.g. "--color-sky-600". */
  color: string;
  dashed?: boolean;
}

export interface ChartMarker {
  /** Seconds since the epoch. */
  at: number;
  label: string;
}

export interface TimeChartProps {
  /** Seconds since the epoch. */
  times: number[];
  lines: ChartLine[];
  markers: ChartMarker[];
  /** The x range shown, in seconds (the whole asked range, even where there are no samples yet). */
  range: [number, number];
  /** How a value reads in the legend (the axis abbreviates: 1.2K, 3M). */
  format: (value: number) => string;
  /** Charts with the same key move their crosshairs together. */
  syncKey: string;
  height?: number;
}

const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

/** Resolves palette variables to colours a canvas accepts (light-dark() is resolved by the browser on `color`). */
function resolveColors(element: HTMLElement, variables: string[]): string[] {
  const probe = document.createElement('span');
  probe.style.display = 'none';
  element.append(probe);
  const colors = variables.map((v) => {
    probe.style.color = `var(${v})`;
    return getComputedStyle(probe).color;
  });
  probe.remove();
  return colors;
}

/** 'light' or 'dark', whichever the page shows now (the system setting or the theme toggle's data-theme). */
function useShownScheme(): string {
  const [scheme, setScheme] = useState('');
  useEffect(() => {
    const media = window.matchMedia('(prefers-color-scheme: dark)');
    const read = () => {
      const chosen = document.documentElement.dataset.theme;
      setScheme(chosen === 'light' || chosen === 'dark' ? chosen : media.matches ? 'dark' : 'light');
    };
    read();
    media.addEventListener('change', read);
    const observer = new MutationObserver(read);
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    return () => {
      media.removeEventListener('change', read);
      observer.disconnect();
    };
  }, []);
  return scheme;
}

/** Draws the markers (read at each draw, so new ones need no rebuild) as vertical lines over the plotting area. */
function markersPlugin(markers: { current: ChartMarker[] }, color: string): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const { ctx, bbox } = u;
        ctx.save();
        ctx.strokeStyle = color;
        ctx.lineWidth = Math.max(1, devicePixelRatio);
        ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
        for (const marker of markers.current) {
          const x = Math.round(u.valToPos(marker.at, 'x', true));
          if (x < bbox.left || x > bbox.left + bbox.width) continue;
          ctx.beginPath();
          ctx.moveTo(x, bbox.top);
          ctx.lineTo(x, bbox.top + bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

/** The last non-null value of a data column. */
function latestOf(column: ArrayLike<number | null | undefined>): number | null {
  for (let i = column.length - 1; i >= 0; i--) {
    const v = column[i];
    if (v !== null && v !== undefined) return v;
  }
  return null;
}

const alignedData = (times: number[], lines: ChartLine[]): uPlot.AlignedData => [times, ...lines.map((l) => l.values)];

export default function TimeChart({ times, lines, markers, range, format, syncKey, height = 180 }: TimeChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const scheme = useShownScheme();
  // What changes with every poll is handed to the chart without rebuilding it (a rebuild would drop the crosshair).
  const current = useRef({ times, lines, markers, range, format });
  const markerList = useRef(markers);
  useEffect(() => {
    current.current = { times, lines, markers, range, format };
    markerList.current = markers;
    chart.current?.setData(alignedData(times, lines));
  }, [times, lines, markers, range, format]);
  // The chart is built again only when the theme or the set of lines changes.
  const shape = lines.map((l) => `${l.label}:${l.color}:${l.dashed ? 1 : 0}`).join('|');

  useEffect(() => {
    const element = container.current;
    if (!element || !scheme) return;
    const { times: t, lines: l } = current.current;
    const [text, grid, marker, ...strokes] = resolveColors(element, ['--color-slate-700', '--color-slate-200', '--color-violet-600', ...l.map((line) => line.color)]);
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const options: uPlot.Options = {
      width: Math.max(200, element.clientWidth),
      height,
      cursor: { sync: { key: syncKey }, drag: { x: false, y: false } },
      scales: { x: { time: true, range: () => current.current.range }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] } },
      axes: [axis, { ...axis, size: 48, values: (_u, splits) => splits.map((v) => compact.format(v)) }],
      // Away from the crosshair the legend shows each line's latest value.
      series: [
        { value: (_u, v) => (v === null ? 'latest' : new Date(v * 1000).toLocaleString('en-GB', { hour12: false })) },
        ...l.map((line, i) => ({
          label: line.label,
          stroke: strokes[i],
          width: 1.5,
          dash: line.dashed ? [6, 4] : undefined,
          value: (u: uPlot, v: number | null, series: number, idx: number | null) => {
            const shown = idx === null ? latestOf(u.data[series]) : v;
            return shown === null ? '—' : current.current.format(shown);
          },
        })),
      ],
      plugins: [markersPlugin(markerList, marker)],
    };
    const built = new uPlot(options, alignedData(t, l), element);
    chart.current = built;
    const resize = new ResizeObserver(() => built.setSize({ width: Math.max(200, element.clientWidth), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      built.destroy();
      chart.current = null;
    };
  }, [scheme, shape, syncKey, height]);

  return <div ref={container} className="min-w-0 text-slate-700" data-testid="time-chart" />;
}
