// One drift metric over its window history, drawn with uPlot: the metric's value per window, its
// threshold as a dashed line, and each window's state (ok / warning / drifted) as a band behind it.
// The same figures are in a table under the chart for screen readers and for copying.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { fmt, html, Table, when } from './ui.js';

const BAND = { ok: 'rgba(46, 125, 50, 0.10)', warning: 'rgba(237, 108, 2, 0.18)', drifted: 'rgba(198, 40, 40, 0.20)' };

/** Paints each window's state as a vertical band, under the series. */
function stateBands(states) {
  return {
    hooks: {
      drawClear: [
        (u) => {
          const { ctx } = u;
          const { top, height } = u.bbox;
          const xs = u.data[0];
          ctx.save();
          for (let i = 0; i < xs.length; i++) {
            const color = BAND[states[i]];
            if (!color) continue;
            const left = u.valToPos(xs[i] - 0.5, 'x', true);
            const right = u.valToPos(xs[i] + 0.5, 'x', true);
            ctx.fillStyle = color;
            ctx.fillRect(left, top, right - left, height);
          }
          ctx.restore();
        },
      ],
    },
  };
}

/** `windows`: [{index, value, state, at}], oldest first. */
export function MetricChart({ kind, name, windows, threshold }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    if (!el || windows.length === 0) return undefined;
    const xs = windows.map((w) => w.index);
    const data = [xs, windows.map((w) => w.value), windows.map(() => threshold ?? null)];
    const width = Math.max(260, Math.min(640, el.clientWidth || 640));
    const plot = new uPlot(
      {
        width,
        height: 180,
        plugins: [stateBands(windows.map((w) => w.state))],
        scales: { x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] } },
        axes: [{ label: 'window' }, { size: 56 }],
        // Labels only: the values are in the table below, and a live legend jumps as the cursor moves.
        legend: { show: true, live: false },
        series: [
          { label: 'window' },
          { label: name, stroke: '#1f4e79', width: 2, points: { show: true, size: 6 } },
          { label: 'threshold', stroke: '#c62828', dash: [6, 4], width: 1, points: { show: false } },
        ],
      },
      data,
      el,
    );
    const resize = () => plot.setSize({ width: Math.max(260, Math.min(640, el.clientWidth || 640)), height: 180 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [windows, threshold, name]);
  const id = `chart-${kind}-${name}`.replace(/[^a-z0-9-]/gi, '-');
  return html`<figure class="chart" data-kind=${kind} data-metric=${name} data-points=${windows.length} aria-labelledby=${`${id}-title`}>
    <figcaption id=${`${id}-title`}>${kind} · ${name}${threshold != null ? html` <span class="muted">(threshold ${fmt(threshold)})</span>` : null}</figcaption>
    <div class="chart-box" ref=${box} role="img" aria-label=${`${name} over ${windows.length} ${kind} windows`}></div>
    <details>
      <summary>Values</summary>
      <${Table} label=${`${kind} ${name} values`}>
        <thead><tr><th scope="col">Window</th><th scope="col">Value</th><th scope="col">State</th><th scope="col">Recorded</th></tr></thead>
        <tbody>${windows.map((w) => html`<tr data-window=${w.index}><td class="num">${w.index}</td><td class="num">${fmt(w.value, 4)}</td><td>${w.state}</td><td>${when(w.at)}</td></tr>`)}</tbody>
      <//>
    </details>
  </figure>`;
}
