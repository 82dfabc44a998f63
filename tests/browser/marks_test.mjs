// The exchange marks of an HTML report in Debian's chromium: every
// connection with Redis/PostgreSQL/MySQL exchanges lists them in its detail
// pane (errors in red, the marks left out said), and the pointer over a
// mark on the timeline names it: `want` texts must each be found in the
// tooltip over some mark (an HTTP/2 stream's "stream N", a command).
// Usage: node marks_test.mjs REPORT.html [--want TEXT]... [--screenshot PNG]
import {launch, openReport} from './chromium.mjs';

const args = process.argv.slice(2);
const report = args[0];
const wants = [];
let shot = null;
for (let i = 1; i < args.length; i += 2) {
  if (args[i] === '--want') wants.push(args[i + 1]);
  else if (args[i] === '--screenshot') shot = args[i + 1];
}
let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) { passed++; console.log('ok - ' + name); }
  else { failed++; console.log('not ok - ' + name + (detail ? ': ' + detail : '')); }
}

const b = await launch({width: 1400, height: 1100});
try {
  const {page, errors} = await openReport(b.context, report);
  const data = await page.evaluate(() => window.tcpscribe.data);
  const L = await page.evaluate(() => window.tcpscribe.layout);
  const canvas = await page.locator('#tl').boundingBox();

  // ---- the detail pane ----
  const withEx = data.conns.filter((c) => c.ex.length);
  check('some connection has exchanges', withEx.length > 0);
  for (const c of withEx) {
    await page.evaluate((id) => window.tcpscribe.select(id, 'test'), c.id);
    const rows = await page.locator('#d-ex tr').count();
    check('#' + c.id + ': one row per exchange', rows === c.ex.length + 1, rows + ' rows, ' + c.ex.length + ' exchanges');
    const red = await page.locator('#d-ex tr.ex-err').count();
    const errs = c.ex.filter((x) => x.e !== null).length;
    check('#' + c.id + ': error rows', red === errs, red + ' vs ' + errs);
    if (errs) {
      const color = await page.$eval('#d-ex tr.ex-err td', (td) => getComputedStyle(td).color);
      check('#' + c.id + ': errors are red', color === 'rgb(213, 0, 0)', color);
    }
    const ml = await page.locator('#d-ml').count();
    check('#' + c.id + ': the marks left out are said', (ml === 1) === (c.ml > 0), 'ml ' + c.ml);
    if (c.ml) {
      const note = await page.textContent('#d-ml');
      check('#' + c.id + ': the note counts them', note.startsWith(c.ml.toLocaleString('en-US') + ' more'), note);
    }
  }
  if (shot && withEx.length) {
    const big = withEx.reduce((a, c) => (c.ex.some((x) => x.e !== null) ? c : a), withEx[0]);
    await page.evaluate((id) => window.tcpscribe.select(id, 'test'), big.id);
    await page.screenshot({path: shot, fullPage: false});
  }

  // ---- the pointer over each mark ----
  const seen = new Set();
  for (const c of data.conns) {
    const marks = [
      ...c.http.map((h) => [h.rq0 !== null ? h.rq0 : h.rs0, h.rs1 !== null ? h.rs1 : h.rq1]),
      ...c.ex.map((x) => [x.t0, x.t1]),
    ].filter(([a, z]) => a !== null && z !== null).slice(0, 20);
    if (!marks.length) continue;
    const row = await page.evaluate((id) => window.tcpscribe.timelineRow(id), c.id);
    for (const [a, z] of marks) {
      // The view around this mark alone, as a user zooms to it.
      const pad = Math.max((z - a) * 0.5, 5);
      await page.evaluate((v) => { window.tcpscribe.view = v; }, {t0: a - pad, t1: z + pad});
      const x = await page.evaluate((t) => window.tcpscribe.xOf(t), (a + z) / 2);
      await page.mouse.move(canvas.x + x, canvas.y + L.AXIS + row * L.ROW + 3);
      seen.add(await page.textContent('#tooltip'));
    }
  }
  const tips = [...seen].join('\n');
  for (const w of wants) check('a tooltip names ' + JSON.stringify(w), tips.includes(w), tips.slice(0, 400));
  check('no script errors', errors.length === 0, errors.join('; '));
} finally {
  await b.close();
}
console.log(passed + ' passed, ' + failed + ' failed');
process.exit(failed ? 1 : 0);
