// How long a report takes to show its first view in chromium: from the
// start of navigation until the page has parsed its data, drawn the
// header, the table and the timeline, and painted (the next animation
// frame). Prints one line per run and the best and median, in ms.
//
//   node first_view.mjs REPORT.html [RUNS]
import fs from 'node:fs';
import {launch, openReport} from './chromium.mjs';

const [file, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);
const b = await launch();
const times = [];
try {
  for (let i = 0; i < runs; i++) {
    const {page, errors, blocked} = await openReport(b.context, file);
    const t = await page.evaluate(() => new Promise((resolve) =>
      requestAnimationFrame(() => resolve({ready: window.tcpscribe.readyAt, painted: performance.now(),
                                           script: window.tcpscribe.firstViewMs,
                                           rows: window.tcpscribe.rows}))));
    if (errors.length || blocked.length) throw new Error('page errors: ' + errors.concat(blocked).join('; '));
    console.log(`run ${i + 1}: first view painted at ${t.painted.toFixed(0)} ms ` +
                `(data parsed and drawn by ${t.ready.toFixed(0)} ms, script ${t.script.toFixed(0)} ms, ` +
                `${t.rows} timeline rows)`);
    times.push(t.painted);
    await page.close();
  }
} finally {
  await b.close();
}
times.sort((p, q) => p - q);
const size = (fs.statSync(file).size / 1048576).toFixed(1);
console.log(`first view: best ${times[0].toFixed(0)} ms, median ${times[times.length >> 1].toFixed(0)} ms ` +
            `(${runs} runs, ${size} MiB page)`);
