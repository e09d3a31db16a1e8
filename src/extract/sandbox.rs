//! Extraction in a child process under limits: a runaway parser (a compression bomb, a page
//! tree that loops, nesting deep enough to overflow the stack) costs that process, never the
//! server that reads uploads.
//!
//! The server runs `hamlet-extract` (`src/bin/hamlet-extract.rs`, installed beside `hamlet`),
//! writes the file on its stdin and reads a JSON `Reply` from its stdout. The child limits itself before it reads a byte
//! (`child`): its data segment (heap) to `memory_mb` beyond what it holds at start, its CPU
//! time to the deadline, no core dumps; it gets an empty environment (no
//! database URL, no secret key). The server kills it at the deadline and reaps it, so no
//! thread or process outlives a request. At most `concurrency` children run at once; one more
//! upload is refused at once (`Refused::Busy`, a 503 with Retry-After), never queued.
//!
//! Cost: one process start per upload, measured by `benches/extract.rs` (docs/BENCHMARKS.md).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use super::{extract, sniff, ExtractError, Extracted, Format, Limits};

/// The most bytes the child reads from its stdin (the server's upload limit is far below).
const MAX_INPUT: u64 = 256 << 20;
/// The size asked for the pipes to and from the child.
const PIPE_BYTES: usize = 1 << 20;
/// The most bytes of the child's stderr kept, for the log.
const MAX_STDERR: u64 = 16 << 10;

/// How much one extraction may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Megabytes of heap the child may allocate beyond what it holds at start.
    pub memory_mb: u64,
    /// Wall-clock (and CPU) seconds before the child is killed.
    pub timeout_secs: u64,
    /// Children at once; more uploads are refused while they run.
    pub concurrency: usize,
}

impl Default for SandboxLimits {
    fn default() -> SandboxLimits {
        SandboxLimits {
            memory_mb: 512,
            timeout_secs: 20,
            concurrency: default_concurrency(),
        }
    }
}

impl SandboxLimits {
    /// For `hamlet harvest`: one PDF at a time, which may be a long thesis (2 GB, 5 minutes).
    pub fn harvest() -> SandboxLimits {
        SandboxLimits {
            memory_mb: 2048,
            timeout_secs: 300,
            concurrency: 1,
        }
    }
}

/// Two extractions per core: a child spends most of a normal upload starting and waiting.
pub fn default_concurrency() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Why an upload was not read.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// Every extraction slot is taken (their number).
    #[error("the server is reading {0} other files right now; try again in a few seconds")]
    Busy(usize),
    /// The file itself: damaged, a bomb, unsupported, no text...
    #[error(transparent)]
    File(#[from] ExtractError),
    /// The extraction process could not be run at all (our side).
    #[error("the text extractor could not be run: {0}")]
    Helper(String),
}

/// What the child writes on its stdout.
#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    Text {
        format: Format,
        text: String,
        encoding: Option<String>,
    },
    Refused(ExtractError),
}

/// Runs extractions in child processes of `program` (`hamlet-extract`).
#[derive(Debug)]
pub struct Sandbox {
    program: PathBuf,
    limits: SandboxLimits,
    slots: Arc<Semaphore>,
}

impl Sandbox {
    /// A sandbox that runs `program` (a `hamlet-extract` binary).
    pub fn new(program: PathBuf, limits: SandboxLimits) -> Sandbox {
        let concurrency = limits.concurrency.max(1);
        Sandbox {
            program,
            limits: SandboxLimits {
                concurrency,
                ..limits
            },
            slots: Arc::new(Semaphore::new(concurrency)),
        }
    }

    /// A sandbox that runs the `hamlet-extract` installed beside this binary (`helper_program`).
    pub fn for_this_binary(limits: SandboxLimits) -> std::io::Result<Sandbox> {
        Ok(Sandbox::new(helper_program()?, limits))
    }

    /// The text of an uploaded file, read in a child process; `Refused::Busy` at once when
    /// every slot is taken. The format is sniffed here, so an empty or unsupported file is
    /// refused without starting a process.
    pub async fn extract(
        &self,
        bytes: &[u8],
        filename: Option<&str>,
    ) -> Result<Extracted, Refused> {
        if bytes.is_empty() {
            return Err(ExtractError::Empty.into());
        }
        let format = sniff(bytes, filename)?;
        let _slot = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refused::Busy(self.limits.concurrency))?;
        self.run(bytes, filename, format).await
    }

    async fn run(
        &self,
        bytes: &[u8],
        filename: Option<&str>,
        format: Format,
    ) -> Result<Extracted, Refused> {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.arg("--memory-mb")
            .arg(self.limits.memory_mb.to_string())
            .arg("--cpu-secs")
            .arg(self.limits.timeout_secs.to_string())
            .arg("--size")
            .arg(bytes.len().to_string());
        if let Some(name) = filename {
            cmd.arg("--name").arg(name);
        }
        // Nothing of the server's environment (database URL, secret key) reaches the parser;
        // only PATH and the loader's path are kept.
        cmd.env_clear().current_dir("/");
        for var in ["LD_LIBRARY_PATH", "PATH"] {
            if let Some(v) = std::env::var_os(var) {
                cmd.env(var, v);
            }
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| Refused::Helper(format!("{}: {e}", self.program.display())))?;
        let mut stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        // Pipes of 1 MB (Linux's default most) rather than 64 kB: a 1 MB file and its text
        // then cross in a few wake-ups instead of dozens (+25.6 -> +19.1 ms for a 1 MB .docx,
        // `benches/extract.rs`). Where the kernel refuses, the default still works.
        let _ = rustix::pipe::fcntl_setpipe_size(&stdin, PIPE_BYTES);
        let _ = rustix::pipe::fcntl_setpipe_size(&stdout, PIPE_BYTES);
        let out_cap = (bytes.len() as u64)
            .saturating_mul(8)
            .max(Limits::default().max_chars as u64 * 2)
            + (1 << 20);
        let work = async {
            // A child that dies early closes its stdin: the write fails, the status tells why.
            let feed = async {
                let _ = stdin.write_all(bytes).await;
                drop(stdin);
            };
            // Text is usually a few times the size of a compressed file: one allocation.
            let mut out = Vec::with_capacity((bytes.len() * 4).min(out_cap as usize));
            let mut err = Vec::new();
            let mut stdout = stdout.take(out_cap);
            let mut stderr = stderr.take(MAX_STDERR);
            let read_out = stdout.read_to_end(&mut out);
            let read_err = stderr.read_to_end(&mut err);
            let ((), o, e) = tokio::join!(feed, read_out, read_err);
            o.and(e).map(|_| (out, err))
        };
        let deadline = Duration::from_secs(self.limits.timeout_secs);
        let (out, err) = match tokio::time::timeout(deadline, work).await {
            Ok(Ok(got)) => got,
            Ok(Err(e)) => {
                let _ = child.kill().await;
                return Err(Refused::Helper(format!("reading its output: {e}")));
            }
            Err(_) => {
                // kill() also waits, so the child is reaped before the answer goes out.
                let _ = child.kill().await;
                tracing::warn!(format = format.name(), "extraction killed at the deadline");
                return Err(ExtractError::TooSlow(format, self.limits.timeout_secs).into());
            }
        };
        let status = match tokio::time::timeout(Duration::from_secs(5), child.wait()).await {
            Ok(Ok(status)) => status,
            _ => {
                let _ = child.kill().await;
                return Err(ExtractError::TooSlow(format, self.limits.timeout_secs).into());
            }
        };
        if status.success() {
            let reply: Reply = serde_json::from_slice(&out)
                .map_err(|e| Refused::Helper(format!("its reply is not understood: {e}")))?;
            return match reply {
                Reply::Text {
                    format,
                    text,
                    encoding,
                } => Ok(Extracted {
                    format,
                    text,
                    encoding: encoding
                        .and_then(|e| encoding_rs::Encoding::for_label(e.as_bytes()))
                        .map(|e| e.name()),
                }),
                Reply::Refused(e) => Err(e.into()),
            };
        }
        let err = String::from_utf8_lossy(&err);
        let why = failure(&status, &err);
        tracing::warn!(
            format = format.name(),
            status = %status,
            stderr = err.lines().next().unwrap_or(""),
            "extraction failed"
        );
        Err(match why {
            Failure::Memory => ExtractError::TooLarge(format, self.limits.memory_mb),
            Failure::Time => ExtractError::TooSlow(format, self.limits.timeout_secs),
            Failure::Other => ExtractError::Corrupt(format, "its structure cannot be read".into()),
        }
        .into())
    }
}

enum Failure {
    Memory,
    Time,
    Other,
}

/// What ended a child that did not reply: an allocation over its memory limit (Rust's
/// "memory allocation of N bytes failed", or a capacity overflow), its CPU limit (SIGXCPU),
/// or anything else (a panic, a stack overflow).
fn failure(status: &std::process::ExitStatus, stderr: &str) -> Failure {
    use std::os::unix::process::ExitStatusExt;
    const SIGXCPU: i32 = 24;
    const SIGKILL: i32 = 9;
    if stderr.contains("memory allocation of") || stderr.contains("capacity overflow") {
        return Failure::Memory;
    }
    match status.signal() {
        Some(SIGXCPU | SIGKILL) => Failure::Time,
        _ => Failure::Other,
    }
}

/// The extraction binary: `hamlet-extract` beside this process's binary (`target/release/`,
/// the Docker image's `/app/bin/`); for the test and bench binaries of a cargo build
/// (`target/<profile>/deps/NAME-HASH`), the one in the directory above.
pub fn helper_program() -> std::io::Result<PathBuf> {
    const NAME: &str = "hamlet-extract";
    let exe = std::env::current_exe()?;
    let dirs = [exe.parent(), exe.parent().and_then(Path::parent)];
    let found = dirs
        .into_iter()
        .flatten()
        .map(|d| d.join(NAME))
        .find(|p| p.is_file());
    found.ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "no {NAME} beside {} (build it: cargo build --release)",
                exe.display()
            ),
        )
    })
}

/// The child's side: `hamlet-extract` limits itself, reads the file from stdin, writes a
/// `Reply` on stdout and exits 0; an allocation over the limit aborts it (the server reads
/// that as "too large once unpacked").
pub fn child(
    memory_mb: u64,
    cpu_secs: u64,
    size: usize,
    name: Option<&str>,
) -> std::io::Result<()> {
    limit_self(memory_mb, cpu_secs)?;
    // The server says how many bytes come: one allocation, read in big chunks.
    let mut bytes = Vec::with_capacity(size.min(MAX_INPUT as usize) + 1);
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::io::stdin().lock(), MAX_INPUT),
        &mut bytes,
    )?;
    let reply = match extract(&bytes, name, &Limits::default()) {
        Ok(got) => Reply::Text {
            format: got.format,
            text: got.text,
            encoding: got.encoding.map(str::to_string),
        },
        Err(e) => Reply::Refused(e),
    };
    drop(bytes);
    let reply = serde_json::to_vec(&reply)?;
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, &reply)?;
    std::io::Write::flush(&mut out)
}

/// Caps this process: heap `memory_mb` beyond its data segment now, CPU `cpu_secs` (SIGXCPU,
/// then SIGKILL a second later), no core file.
fn limit_self(memory_mb: u64, cpu_secs: u64) -> std::io::Result<()> {
    use rlimit::Resource;
    let data = data_segment_bytes().unwrap_or(0) + (memory_mb << 20);
    Resource::DATA.set(data, data)?;
    Resource::CPU.set(cpu_secs.max(1), cpu_secs.max(1) + 1)?;
    Resource::CORE.set(0, 0)?;
    Ok(())
}

/// The process's data segment now (`VmData` in /proc/self/status): the heap the loader and
/// the libraries' start-up already took.
fn data_segment_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmData:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb << 10)
}
