//! The single read pass over a torrent's files: each buffer is read once and handed to a SHA-1
//! thread (v1 pieces) and a SHA-256 thread (v2 merkle trees) at the same time, while the reading
//! thread fills the next buffer. On two cores with SHA extensions both hashes together then cost
//! about what one `sha1sum` costs.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

use crate::error::CreateError;
use crate::merkle::{FileHashes, FileMerkleHasher};
use crate::v1_pieces::V1PieceHasher;

/// Read size: a multiple of every piece length's block size, small enough to stay in cache
/// between the reader and both hashers.
const BUFFER_SIZE: usize = 1024 * 1024;
/// Buffers in flight: enough for the reader to run ahead of a momentarily slower hasher.
const BUFFERS: usize = 8;

/// One file to read, with the length it had when the torrent was planned.
pub(crate) struct PassFile {
    pub(crate) path: PathBuf,
    pub(crate) length: u64,
    /// Zero bytes that follow this file in the v1 layout (a BEP 47 pad file).
    pub(crate) pad_after: u64,
}

pub(crate) struct PassOutput {
    /// Concatenated v1 piece hashes, when v1 was asked for.
    pub(crate) v1_pieces: Option<Vec<u8>>,
    /// Per-file v2 hashes in input order, when v2 was asked for.
    pub(crate) v2_files: Option<Vec<FileHashes>>,
}

enum Message {
    Data(Arc<Vec<u8>>),
    FileEnd { pad_after: u64 },
}

/// Reads every file once, computing what was asked for. `progress(done, total)` is called after
/// each buffer; returning `false` cancels the pass.
pub(crate) fn hash_files(
    files: &[PassFile],
    piece_length: u64,
    want_v1: bool,
    want_v2: bool,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<PassOutput, CreateError> {
    let total: u64 = files.iter().map(|f| f.length).sum();
    std::thread::scope(|scope| {
        // Unbounded, yet never holds more than two references per buffer in flight.
        let (returned_tx, returned_rx) = channel::<Arc<Vec<u8>>>();
        let mut senders = Vec::new();
        let v1 = want_v1.then(|| {
            let (tx, rx) = sync_channel::<Message>(BUFFERS);
            senders.push(tx);
            let back = returned_tx.clone();
            scope.spawn(move || v1_worker(rx, back, piece_length))
        });
        let v2 = want_v2.then(|| {
            let (tx, rx) = sync_channel::<Message>(BUFFERS);
            senders.push(tx);
            let back = returned_tx.clone();
            scope.spawn(move || v2_worker(rx, back, piece_length))
        });
        drop(returned_tx);

        let read = read_all(files, total, &senders, &returned_rx, progress);
        drop(senders); // hashers see the end of input and finish
        let v1_pieces = v1.map(|h| h.join().expect("v1 hasher thread panicked"));
        let v2_files = v2.map(|h| h.join().expect("v2 hasher thread panicked"));
        read?;
        Ok(PassOutput {
            v1_pieces,
            v2_files,
        })
    })
}

fn read_all(
    files: &[PassFile],
    total: u64,
    senders: &[SyncSender<Message>],
    returned: &Receiver<Arc<Vec<u8>>>,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<(), CreateError> {
    let mut pool = BufferPool {
        allocated: 0,
        returned,
    };
    let mut done = 0u64;
    for file in files {
        let mut reader = File::open(&file.path).map_err(|e| io_error(&file.path, e))?;
        let mut read_here = 0u64;
        loop {
            let mut buffer = pool.take();
            buffer.resize(BUFFER_SIZE, 0);
            let n = fill(&mut reader, &mut buffer).map_err(|e| io_error(&file.path, e))?;
            if n == 0 {
                break;
            }
            buffer.truncate(n);
            read_here += n as u64;
            if read_here > file.length {
                break;
            }
            let shared = Arc::new(buffer);
            for tx in senders {
                // A closed channel means its hasher is gone; the join reports why.
                let _ = tx.send(Message::Data(Arc::clone(&shared)));
            }
            done += n as u64;
            if !progress(done, total) {
                return Err(CreateError::Cancelled);
            }
        }
        if read_here != file.length {
            return Err(CreateError::FileChanged {
                path: file.path.clone(),
                expected: file.length,
                found: read_here,
            });
        }
        for tx in senders {
            let _ = tx.send(Message::FileEnd {
                pad_after: file.pad_after,
            });
        }
    }
    Ok(())
}

/// Reads until `buffer` is full or the file ends, so buffers stay block-aligned.
fn fill(reader: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn io_error(path: &Path, source: std::io::Error) -> CreateError {
    CreateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Recycles buffers: each hasher hands its reference back when done with it, and the buffer is
/// free again once the last reference returns. Allocation stops at [`BUFFERS`], which also bounds
/// memory and makes the reader wait for the hashers.
struct BufferPool<'a> {
    allocated: usize,
    returned: &'a Receiver<Arc<Vec<u8>>>,
}

impl BufferPool<'_> {
    fn take(&mut self) -> Vec<u8> {
        loop {
            if let Ok(shared) = self.returned.try_recv()
                && let Ok(buffer) = Arc::try_unwrap(shared)
            {
                return buffer;
            }
            if self.allocated < BUFFERS {
                self.allocated += 1;
                return Vec::with_capacity(BUFFER_SIZE);
            }
            match self.returned.recv() {
                Ok(shared) => {
                    if let Ok(buffer) = Arc::try_unwrap(shared) {
                        return buffer;
                    }
                }
                // Every hasher has gone (only after an error): stop recycling.
                Err(_) => return Vec::with_capacity(BUFFER_SIZE),
            }
        }
    }
}

fn v1_worker(rx: Receiver<Message>, back: Sender<Arc<Vec<u8>>>, piece_length: u64) -> Vec<u8> {
    let mut hasher = V1PieceHasher::new(piece_length);
    for message in rx {
        match message {
            Message::Data(buffer) => {
                hasher.update(&buffer);
                let _ = back.send(buffer);
            }
            Message::FileEnd { pad_after } => hasher.update_zeros(pad_after),
        }
    }
    hasher.finish()
}

fn v2_worker(
    rx: Receiver<Message>,
    back: Sender<Arc<Vec<u8>>>,
    piece_length: u64,
) -> Vec<FileHashes> {
    let mut files = Vec::new();
    let mut hasher = FileMerkleHasher::new(piece_length);
    for message in rx {
        match message {
            Message::Data(buffer) => {
                hasher.update(&buffer);
                let _ = back.send(buffer);
            }
            Message::FileEnd { .. } => {
                let finished = std::mem::replace(&mut hasher, FileMerkleHasher::new(piece_length));
                files.push(finished.finish());
            }
        }
    }
    files
}
