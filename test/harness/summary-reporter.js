// Appends each jest run's totals to $IRONLB_TEST_SUMMARY (one JSON line per project run), so
// that .ci/run can print one closing "N passed, N failed" line for the whole test command.
const fs = require('fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.IRONLB_TEST_SUMMARY;
    if (!file) return;
    const line = { passed: results.numPassedTests, failed: results.numFailedTests, skipped: results.numPendingTests + results.numTodoTests };
    fs.appendFileSync(file, JSON.stringify(line) + '\n');
  }
}

module.exports = SummaryReporter;
