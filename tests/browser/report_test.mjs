// Opens a tcpscribe --html report in Debian's chromium and checks what a
// person would: the header's counts against the capture, a click on the
// timeline selects the connection and fills the detail pane, the table
// filters, sorts and follows the arrow keys, the wheel zooms about the
// pointer down to microseconds, a drag pans; then saves a screenshot.
//
//   node report_test.mjs REPORT.html --packets-read N --tcp N --connections N
//        [--reused N] [--screenshot FILE]
//
// Ends with "N passed, N failed"; exit status 1 when anything failed.
import fs from 'node:fs';
import {launch, openReport} from './chromium.mjs';

const args = process.argv.slice(2);
const report = args[0];
const opt = {};
for (let i = 1; i < args.length; i += 2) opt[args[i].replace(/^--/, '')] = args[i + 1];
if (!report || !fs.existsSync(report)) {
  console.error('usage: node report_test.mjs REPORT.html --packets-read N --tcp N --connections N');
  process.exit(2);
}

let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) { passed++; console.log('ok - ' + name); }
  else { failed++; console.log('not ok - ' + name + (detail ? ': ' + detail : '')); }
}
const eq = (name, got, want) => check(name, got === want, 'got ' + JSON.stringify(got) + ', want ' + JSON.stringify(want));

const b = await launch();
try {
  const {page, blocked, errors} = await openReport(b.context, report);
  const data = await page.evaluate(() => window.tcpscribe.data);
  const L = await page.evaluate(() => window.tcpscribe.layout);

  // ---- the header against the capture ----
  if (opt['packets-read']) {
    const text = await page.textContent('#sum-packets');
    check('header shows the frames read', text.startsWith(opt['packets-read'] + ' read'), text);
  }
  if (opt.tcp) eq('header: TCP segments', await page.getAttribute('#sum-packets', 'data-value'), opt.tcp);
  if (opt.connections) {
    eq('header: connections', await page.getAttribute('#sum-conns', 'data-value'), opt.connections);
    const byState = await page.$$eval('#sum-states .chip', (els) =>
      els.reduce((n, e) => n + Number(e.dataset.count), 0));
    eq('states add up to the connections', String(byState), opt.connections);
    eq('table rows', await page.locator('#tbody tr.row').count(), Number(opt.connections));
    eq('filter count', await page.textContent('#f-count'),
       opt.connections + ' of ' + opt.connections + ' connections');
  }
  eq('timeline rows: a server heading and one row per connection',
     await page.evaluate(() => window.tcpscribe.rows),
     new Set(data.conns.map((c) => c.s + ':' + c.sp)).size + data.conns.length);

  // ---- click a connection on the timeline ----
  const canvas = await page.locator('#tl').boundingBox();
  const pick = data.conns[data.conns.length - 1];
  const row = await page.evaluate((id) => window.tcpscribe.timelineRow(id), pick.id);
  const mid = (pick.start + pick.end) / 2;
  const x = await page.evaluate((t) => window.tcpscribe.xOf(t), mid);
  await page.mouse.click(canvas.x + x, canvas.y + L.AXIS + row * L.ROW + L.ROW / 2);
  eq('click on the timeline selects that connection', await page.evaluate(() => window.tcpscribe.selected), pick.id);
  const title = await page.textContent('#d-title');
  const client = pick.c + ':' + pick.cp, server = pick.s + ':' + pick.sp;
  check('detail title names both ends', title.includes('#' + pick.id) && title.includes(client) && title.includes(server), title);
  const pk = await page.$$eval('#d-stats tr[data-k="packets"] td', (tds) => tds.map((t) => t.textContent));
  eq('detail: packets client->server', pk[1], pick.st[0].packets.toLocaleString('en-US'));
  eq('detail: packets server->client', pk[2], pick.st[1].packets.toLocaleString('en-US'));
  const pv = await page.evaluate((ix) => JSON.parse(document.getElementById('report-previews').textContent)[ix],
                                 data.conns.indexOf(pick));
  const fb0 = await page.textContent('#fb0'), fb1 = await page.textContent('#fb1');
  check('detail: first bytes client->server', pv[0] ? fb0.startsWith(pv[0]) : fb0 === '(no data)', fb0);
  check('detail: first bytes server->client', pv[2] ? fb1.startsWith(pv[2]) : fb1 === '(no data)', fb1);
  if (opt['first-bytes-c2s']) eq('first bytes of the selected (last) connection as the capture has them', fb0, opt['first-bytes-c2s']);
  eq('the table marks the selected row', await page.getAttribute('#tbody tr.sel', 'data-id'), String(pick.id));
  const seqDrawn = await page.evaluate(() => {
    const cv = document.getElementById('d-seq');
    const px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
    let n = 0;
    for (let i = 3; i < px.length; i += 4) if (px[i]) n++;
    return n;
  });
  check('detail: the time/sequence graph is drawn', seqDrawn > 500, String(seqDrawn));
  if (opt.reused) {
    const reuse = await page.textContent('#detail');
    check('detail: the reused 4-tuple links the earlier connection',
          pick.prev === null || reuse.includes('reuses the 4-tuple (c' + pick.reuse + ') of #' + pick.prev), reuse);
    eq('connections on a reused 4-tuple', String(data.conns.filter((c) => c.reuse > 0).length), opt.reused);
  }

  // ---- the table: arrow keys, sort, filters ----
  await page.locator('#tbl-scroll').focus();
  await page.keyboard.press('ArrowUp');
  const order = await page.$$eval('#tbody tr.row', (trs) => trs.map((t) => Number(t.dataset.id)));
  const before = order[order.indexOf(pick.id) - 1];
  if (before !== undefined) eq('ArrowUp selects the row above', await page.evaluate(() => window.tcpscribe.selected), before);
  await page.keyboard.press('ArrowDown');
  eq('ArrowDown comes back', await page.evaluate(() => window.tcpscribe.selected), pick.id);
  await page.click('#thead th[data-k="id"]');
  const desc = await page.$$eval('#tbody tr.row', (trs) => trs.map((t) => Number(t.dataset.id)));
  eq('clicking a heading again sorts descending', JSON.stringify(desc), JSON.stringify([...order].sort((p, q) => q - p)));
  await page.fill('#f-port', String(pick.sp));
  eq('port filter', await page.locator('#tbody tr.row').count(),
     data.conns.filter((c) => c.sp === pick.sp || c.cp === pick.sp).length);
  await page.fill('#f-port', '1');
  eq('port filter with no match', await page.locator('#tbody tr.row').count(), 0);
  eq('the timeline follows the filter', await page.evaluate(() => window.tcpscribe.rows), 0);
  await page.fill('#f-port', '');
  await page.fill('#f-host', pick.c);
  eq('host filter', await page.locator('#tbody tr.row').count(),
     data.conns.filter((c) => c.c.includes(pick.c) || c.s.includes(pick.c)).length);
  await page.fill('#f-host', '');
  await page.check('#f-retx');
  const withRetx = data.conns.filter((c) => {
    for (let i = 6; i < c.pk.length; i += 7) if (c.pk[i] & 1) return true;
    return [0, 1].some((d) => c.an[d].retransmission + c.an[d].fast_retransmission + c.an[d].spurious_retransmission > 0);
  }).length;
  eq('has-retransmissions filter', await page.locator('#tbody tr.row').count(), withRetx);
  await page.uncheck('#f-retx');
  await page.click('#thead th[data-k="id"]');

  // ---- zoom about the pointer, down to microseconds; drag pans ----
  const step0 = Number(await page.getAttribute('#tl', 'data-axis-step'));
  const px = canvas.x + L.LW + (canvas.width - L.LW) * 0.3, py = canvas.y + L.AXIS + 10;
  await page.mouse.move(px, py);
  const tAtPointer = await page.evaluate((xx) => window.tcpscribe.tOf(xx), px - canvas.x);
  for (let i = 0; i < 40; i++) {
    await page.mouse.wheel(0, -400);
    await page.waitForTimeout(20);
    const s = Number(await page.getAttribute('#tl', 'data-axis-step'));
    if (s <= 10) break;
  }
  const step1 = Number(await page.getAttribute('#tl', 'data-axis-step'));
  check('zooming in shrinks the axis step', step1 < step0, step0 + ' -> ' + step1);
  check('the axis reaches microseconds', step1 <= 10, String(step1));
  eq('axis unit', await page.getAttribute('#tl', 'data-axis-unit'), '\u00b5s');
  const labels = await page.evaluate(() => window.tcpscribe.axis.labels);
  check('axis labels are in microseconds or seconds with 6 decimals',
        labels.length > 2 && labels.every((l) => /^-?\d+ \u00b5s$/.test(l) || /^-?\d+\.\d{5,6} s$/.test(l)), labels.join(' | '));
  const tAfter = await page.evaluate((xx) => window.tcpscribe.tOf(xx), px - canvas.x);
  check('the wheel zooms about the pointer', Math.abs(tAfter - tAtPointer) < 1, tAtPointer + ' vs ' + tAfter);
  const sep = await page.evaluate((t) => window.tcpscribe.xOf(t + 100) - window.tcpscribe.xOf(t), tAtPointer);
  check('events 100 us apart are at least 20 px apart', sep >= 20, String(sep));
  const v0 = await page.evaluate(() => window.tcpscribe.view);
  await page.mouse.move(px, py);
  await page.mouse.down();
  await page.mouse.move(px + 100, py, {steps: 5});
  await page.mouse.up();
  const v1 = await page.evaluate(() => window.tcpscribe.view);
  const expectShift = 100 / (canvas.width - L.LW) * (v0.t1 - v0.t0);
  check('dragging right by 100 px pans to earlier times', Math.abs((v0.t0 - v1.t0) - expectShift) < expectShift * 0.02,
        (v0.t0 - v1.t0) + ' vs ' + expectShift);
  eq('a drag does not change the selection', await page.evaluate(() => window.tcpscribe.selected), pick.id);
  await page.click('#zoom-reset');

  check('no script errors', errors.length === 0, errors.join('; '));
  check('no network requests', blocked.length === 0, blocked.join(' '));
  if (opt.screenshot) {
    await page.keyboard.press('z');  // zoom to the selected connection
    await page.waitForTimeout(50);
    await page.screenshot({path: opt.screenshot, fullPage: true});
    const size = fs.statSync(opt.screenshot).size;
    check('screenshot saved (' + opt.screenshot + ', ' + size + ' bytes)', size > 10000, String(size));
  }
} catch (e) {
  failed++;
  console.log('not ok - ' + (e && e.stack || e));
} finally {
  await b.close();
}
console.log(passed + ' passed, ' + failed + ' failed');
process.exit(failed ? 1 : 0);
