//! Lines for the person at the terminal, written so that they can never stop the work: stderr
//! closed (`2>&1 | head -1`) or full (`2>/dev/full`) makes `eprintln!` panic, which once ended a
//! batch after 4 of 24 outputs with no summary. The run's record is the report and the summary
//! files; what is lost here is only the echo.

use std::io::Write;

/// Writes `line` and a newline to stderr, ignoring any error (EPIPE, ENOSPC).
pub fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(line.as_bytes());
    let _ = err.write_all(b"\n");
}
