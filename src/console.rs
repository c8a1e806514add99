//! Lines for the person at the terminal, written so that they can never stop the work: stderr
//! closed (`2>&1 | head -1`) or full (`2>/dev/full`) makes `eprintln!` panic, which once ended a
//! batch after 4 of 24 outputs with no summary. The run's record is the report and the summary
//! files; what is lost here is only the echo.

use std::io::Write;

/// Writes `line` and a newline to stderr, ignoring any error (EPIPE, ENOSPC). Control
/// characters other than newlines are escaped ([`escape_controls`]): a file name holding an
/// ANSI sequence must not recolour or rewrite the terminal.
pub fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(escape_controls(line, true).as_bytes());
    let _ = err.write_all(b"\n");
}

/// `eprintln!` that never panics: [`say`] on a formatted line (a closed or full stderr loses
/// the line, not the work). One definition for every binary.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::console::say(&format!($($arg)*))
    };
}

/// The exit status of every binary, the one place its numbers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: everything asked for was done (`--help` and `--version` too).
    Done,
    /// 1: nothing could start: bad arguments, models or folders; a run that stopped on an
    /// error of its own.
    CannotStart,
    /// 2: the run finished but some outputs failed; the report or the message names each.
    SomeFailed,
    /// 128 + the signal that stopped the run (130 Ctrl-C, 143 SIGTERM), after it kept what
    /// was finished, as a shell reports a process killed by that signal.
    Interrupted { signal: u8 },
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Done => 0,
            Exit::CannotStart => 1,
            Exit::SomeFailed => 2,
            Exit::Interrupted { signal } => 128u8.saturating_add(signal),
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

/// Parses the command line. clap's own status for a usage error is 2, which here means "some
/// outputs failed", so a usage error is [`Exit::CannotStart`] (and `--help`/`--version`
/// [`Exit::Done`]), after clap printed it.
pub fn parse_args<T: clap::Parser>() -> Result<T, Exit> {
    T::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            Exit::CannotStart
        } else {
            Exit::Done
        }
    })
}

/// `e` and its causes on one line, each said once. The crate's errors already end with their
/// source's text ("x.jpg: Not a directory (os error 20)"), which anyhow's `{:#}` would say a
/// second time; a cause whose text is not in the line yet (another crate's) is appended.
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    text
}

/// Writes `text` to stdout (a command's answer, not a progress line): a reader that stopped
/// early (`adain info | head`) ends the output quietly, as in other Unix tools; other write
/// errors (a full disk under a redirect) are returned.
pub fn answer(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

/// `text` with its control characters written as escapes (`\u{1b}`, `\r`...), newlines kept
/// when `keep_newlines` (a multi-line message) and escaped otherwise: a per-file line built
/// from a name with a newline in it could otherwise print a forged `error:` line of its own.
pub fn escape_controls(text: &str, keep_newlines: bool) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() && !(keep_newlines && c == '\n') && c != '\t';
    if !text.chars().any(bad) {
        return text.into();
    }
    text.chars()
        .map(|c| match bad(c) {
            true => c.escape_default().to_string(),
            false => c.to_string(),
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_and_its_causes_are_each_said_once() {
        let io = || std::io::Error::from_raw_os_error(20);
        let ours = crate::error::Error::io("out/a.jpg", io());
        assert_eq!(
            describe(&ours),
            format!("out/a.jpg: {}", io()),
            "the source is in the message already"
        );
        #[derive(Debug, thiserror::Error)]
        #[error("cannot save")]
        struct Outer(#[source] std::io::Error);
        assert_eq!(describe(&Outer(io())), format!("cannot save: {}", io()));
    }

    #[test]
    fn exit_statuses_are_the_documented_numbers() {
        assert_eq!(Exit::Done.code(), 0);
        assert_eq!(Exit::CannotStart.code(), 1);
        assert_eq!(Exit::SomeFailed.code(), 2);
        assert_eq!(Exit::Interrupted { signal: 2 }.code(), 130);
        assert_eq!(Exit::Interrupted { signal: 15 }.code(), 143);
    }

    #[test]
    fn control_characters_are_escaped_and_newlines_only_in_single_lines() {
        assert_eq!(escape_controls("plain name.jpg", false), "plain name.jpg");
        assert_eq!(
            escape_controls("a\u{1b}[31mred.jpg", true),
            "a\\u{1b}[31mred.jpg"
        );
        assert_eq!(
            escape_controls("x\nerror: forged", false),
            "x\\nerror: forged"
        );
        assert_eq!(escape_controls("two\nlines\r", true), "two\nlines\\r");
    }
}
