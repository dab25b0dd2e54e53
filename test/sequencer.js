// The order jest runs test files in. With durations from an earlier run on this machine, jest
// runs the longest first (no worker idles at the end) and the ones that failed before that. On a
// fresh clone (CI) it has none and falls back to file size, which puts the end-to-end files (short
// files that run whole `ptflow train`s, the slowest of the suite) after most unit tests: one of
// them then becomes the run's tail. Here a file without a duration that runs the CLI or a browser
// (*.e2e.test.ts, *.browser.test.ts) goes before the other files without one.
'use strict';
const Sequencer = require('@jest/test-sequencer').default;

const slow = (test) => /\.(e2e|browser)\.test\.ts$/.test(test.path);

class SlowFirstSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests); // failed first, then by duration, then by size
    const failed = sorted.filter((t) => this.hasFailed(t));
    const rest = sorted.filter((t) => !this.hasFailed(t));
    const untimed = rest.filter((t) => t.duration == null);
    const timed = rest.filter((t) => t.duration != null);
    return [...failed, ...untimed.filter(slow), ...untimed.filter((t) => !slow(t)), ...timed];
  }
}

module.exports = SlowFirstSequencer;
