//! BitTorrent for dailies: strict bencode, .torrent creation (v1 and hybrid v1+v2) with web
//! seeds, magnet links, and the logic of an HTTP tracker.
//!
//! No HTTP framework and no database: the server passes query strings and file paths in, and
//! gets bencoded bytes and typed values out.

pub mod bencode;
