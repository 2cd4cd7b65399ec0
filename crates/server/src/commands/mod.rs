//! One file per subcommand.

pub mod import;
pub mod probe;
pub mod serve;
pub mod storage;
pub mod swarm;
pub mod upload;
pub mod users;
