//! What a stage hands back for each job: its cost (time shares, image sizes) and how it ended
//! (skipped, failed, or saved). Stages know nothing of rows or reports; they pass each
//! [`JobOutcome`] to the run's [`Sink`], and only the run's driver turns it into a report row
//! (`record`).

use image::RgbImage;

use super::plan::Job;
use super::report::Shares;

/// Where stages hand their outcomes, one per job, as each is known (so the report is flushed as
/// the run goes, and an interrupted run keeps every finished row).
pub(super) type Sink<'s> = dyn FnMut(JobOutcome) + 's;

/// Pixel sizes of the images an output was made from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Sizes {
    pub content: (u32, u32),
    pub style: (u32, u32),
}

/// What the save stage did with one decoded image.
pub(super) struct Saved {
    /// Converting to 8 bits, encoding and writing.
    pub save_s: f64,
    /// The written image's width and height.
    pub size: (u32, u32),
    /// Why the write failed, if it did.
    pub written: std::result::Result<(), String>,
    /// For the contact sheets, when they are drawn.
    pub thumb: Option<RgbImage>,
    /// For a video output: its frames and time.
    pub video: Option<VideoStats>,
}

/// What a video output took.
#[derive(Debug, Clone, Copy)]
pub(super) struct VideoStats {
    pub frames: u64,
    /// The clip's length at its frame rate.
    pub duration_s: f64,
    /// Seconds from the first frame read to the last written (shared by the video's outputs).
    pub wall_s: f64,
}

/// How a job ended.
pub(super) enum End {
    /// Its output was on disk from an earlier run (resume); the thumbnail when sheets are drawn.
    Skipped { thumb: Option<RgbImage> },
    /// No image was made: the message names the input and the problem.
    Failed(String),
    /// An image was made and handed to the save stage.
    Saved(Saved),
}

/// One job's result.
pub(super) struct JobOutcome {
    pub job: Job,
    /// The stage times this output shares with others (see [`Shares`]).
    pub shares: Shares,
    /// Known once the content and style were loaded.
    pub sizes: Option<Sizes>,
    pub end: End,
}

impl JobOutcome {
    pub fn skipped(job: &Job, thumb: Option<RgbImage>) -> Self {
        JobOutcome {
            job: job.clone(),
            shares: Shares::default(),
            sizes: None,
            end: End::Skipped { thumb },
        }
    }
}

/// A per-job error message in one form, `{what} '{path}': {reason}` (e.g. "content image
/// 'a.jpg': cannot decode image: ..."), whether `e` names the file itself (decoding errors
/// start with it) or not (ONNX Runtime's): the path is said once, quoted.
pub(super) fn about(what: &str, path: &std::path::Path, e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let named = format!("{}: ", path.display());
    let reason = text.strip_prefix(&named).unwrap_or(&text);
    format!("{what} '{}': {reason}", path.display())
}

/// A failure shared by `jobs` (a content that would not load, a style without statistics): one
/// outcome each, with the time already spent on them.
pub(super) fn fail_all(sink: &mut Sink<'_>, jobs: &[&Job], error: &str, shares: Shares) {
    for j in jobs {
        sink(JobOutcome {
            job: (*j).clone(),
            shares,
            sizes: None,
            end: End::Failed(error.to_string()),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::about;
    use std::path::Path;

    #[test]
    fn job_errors_say_the_path_once_quoted_whichever_error_named_it() {
        let p = Path::new("in/a.jpg");
        let decode = crate::error::Error::Decode {
            path: p.into(),
            reason: "truncated".into(),
        };
        assert_eq!(
            about("content image", p, &decode),
            "content image 'in/a.jpg': cannot decode image: truncated"
        );
        assert_eq!(
            about("style image", p, &"onnx runtime: bad shape"),
            "style image 'in/a.jpg': onnx runtime: bad shape"
        );
    }
}
