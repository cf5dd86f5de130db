// The collector's state in the page header: attached clusters and what was
// dropped, from GET api/collector (the collector's own status()).
import { clear, getJson, h } from './dom.js';

const REFRESH_MS = 10_000;

export function fetchCollectorState() {
  return getJson('api/collector');
}

function dropped(s) {
  return (s.kernel?.dropped ?? 0) + (s.export?.dropped ?? 0) + (s.decode?.invalid ?? 0);
}

function headline(s) {
  if (!s.running) return { text: 'collector: not running here', cls: 'warn' };
  const attached = s.clusters.filter((c) => !c.error);
  const clusters = `${attached.length} cluster${attached.length === 1 ? '' : 's'} attached`;
  const drops = dropped(s);
  const without = refusedFeatures(s);
  const text = `collector: ${s.enabled ? '' : 'paused · '}${clusters} · ${drops.toLocaleString()} dropped${without.length ? ` · without ${without.map(([f]) => f).join(', ')}` : ''}`;
  const cls = attached.length === 0 || drops > 0 || !s.enabled || s.export.lastError || without.length ? 'warn' : 'ok';
  return { text, cls };
}

/** [feature, why] for each feature whose BPF programs the kernel refused */
function refusedFeatures(s) {
  return Object.entries(s.refused ?? {}).filter(([, why]) => why !== null);
}

function row(label, value) {
  return h('tr', null, h('th', null, label), h('td', null, String(value)));
}

const pct = (x, d = 1) => `${(100 * x).toFixed(d)} %`;

/** The overhead budget's rows: what the probes cost against what they may, and how many sampled statements got phases. */
function budgetRows(s) {
  const p = s.phases;
  const b = s.budget;
  const rows = [];
  if (p) {
    rows.push(row('sampled statements with phases', p.share === null ? 'none sampled yet' : `${pct(p.share)} (${p.timed.toLocaleString()})`));
    rows.push(row('without phases: overhead budget', p.budget.toLocaleString()));
    rows.push(row('without phases: probes armed too late', p.late.toLocaleString()));
    if (p.off) rows.push(row('without phases: detail off', p.off.toLocaleString()));
  }
  if (b) {
    rows.push(row('probe overhead (last 10 s / since start)', `${b.recentPct.toFixed(2)} % / ${b.totalPct.toFixed(2)} % of backend CPU (budget ${b.maxOverheadPct} %)`));
    rows.push(row('backends waiting for the budget', s.backends?.waiting ?? 0));
    rows.push(row('new backends armed at fork', `${b.forkArms} of ${b.forks}`));
  }
  return rows;
}

function panel(s) {
  if (!s.running) return h('p', null, s.reason, '. Run pgferret-collector (as root) on the PostgreSQL host to get PostgreSQL spans.');
  return [
    h('h3', null, 'Clusters'),
    s.clusters.length === 0
      ? h('p', { class: 'muted' }, 'No PostgreSQL cluster found or matched by --port / --pid / --data-dir.')
      : h(
          'table',
          { class: 'attrs clusters' },
          h(
            'tbody',
            null,
            s.clusters.map((c) =>
              h(
                'tr',
                { class: c.error ? 'err' : null },
                h('th', null, `port ${c.port ?? '?'}`),
                h('td', null, `PostgreSQL ${c.major ?? '?'} · pid ${c.pid} · ${c.dataDir} · ${c.error ? `not attached: ${c.error}` : `probes: ${c.probeSet}`}`),
              ),
            ),
          ),
        ),
    refusedFeatures(s).length
      ? [
          h('h3', null, 'Refused by this kernel'),
          h(
            'table',
            { class: 'attrs refused' },
            h('tbody', null, refusedFeatures(s).map(([f, why]) => h('tr', { class: 'err' }, h('th', null, f), h('td', null, `off: ${why}`)))),
          ),
        ]
      : null,
    h('h3', null, 'Counters'),
    h(
      'table',
      { class: 'attrs counters' },
      h(
        'tbody',
        null,
        row('tracing', s.enabled ? `on (root sample rate ${s.rootSampleRate})` : 'paused'),
        row('statements traced', s.statements),
        budgetRows(s),
        row('dropped in the kernel (ring buffer full)', s.kernel?.dropped ?? 0),
        row('records that did not decode', s.decode.invalid),
        row('spans exported', s.export.exported),
        row('spans dropped by the export queue', s.export.dropped),
        row('export failures', s.export.exportFailures),
        s.export.lastError ? row('last export error', s.export.lastError) : null,
      ),
    ),
  ];
}

/** Fills the header element and keeps it current. */
export function showCollectorState(el) {
  const update = async () => {
    try {
      const s = await fetchCollectorState();
      const { text, cls } = headline(s);
      clear(el).append(
        h('details', { class: `collector ${cls}` }, h('summary', { id: 'collector-summary' }, text), h('div', { class: 'collector-panel' }, panel(s))),
      );
    } catch (err) {
      clear(el).append(h('span', { class: 'collector warn' }, `collector state unavailable: ${err.message}`));
    }
  };
  update();
  setInterval(() => {
    // Do not rebuild the panel under the reader's eyes.
    if (!el.querySelector('details[open]')) update();
  }, REFRESH_MS);
}
