//! What comments are made of, apart from HTTP and storage: times on the video's frame grid,
//! drawings checked before they are kept, and the export formats (CSV, EDL markers).

pub mod csv;
pub mod drawing;
pub mod edl;
pub mod frame_grid;
pub mod smpte;
