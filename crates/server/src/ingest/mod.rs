//! How files become videos: the drop folder, local imports and resumable uploads all end in
//! [`register::register_file`], which records the video and queues its processing in one
//! transaction.

pub mod drop_folder;
pub mod hashing;
pub mod recover;
pub mod register;
pub mod reject;
pub mod tus;
