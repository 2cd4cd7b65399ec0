//! What this process's workers can run, so a job that needs an encoder is only claimed by a
//! worker that has it: `codec:<name>` for each codec the local ffmpeg can encode, and
//! `encoder:<name>` for each configured external encoder whose program is installed here.

use dailies_media::Codec;

use crate::app::App;

/// The capability an encode job needs: its external encoder, or an ffmpeg encoder for its codec.
pub fn required_for_encode(spec: &dailies_media::EncodeSpec) -> String {
    match &spec.encoder {
        Some(name) => format!("encoder:{name}"),
        None => format!("codec:{}", codec_name(spec.codec)),
    }
}

fn codec_name(codec: Codec) -> &'static str {
    match codec {
        Codec::H264 => "h264",
        Codec::Hevc => "hevc",
        Codec::Av1 => "av1",
        Codec::Vp9 => "vp9",
    }
}

/// This process's capabilities, sorted.
pub async fn local(app: &App) -> Vec<String> {
    let encoders = app.encoders().await;
    let mut caps: Vec<String> = encoders
        .codecs()
        .into_iter()
        .map(|c| format!("codec:{}", codec_name(c)))
        .collect();
    for (name, external) in &app.config.encoders {
        if is_installed(&external.program) {
            caps.push(format!("encoder:{name}"));
        }
    }
    caps.sort();
    caps
}

/// A program given as a path exists there; a bare name is found on `PATH`.
fn is_installed(program: &std::path::Path) -> bool {
    if program.components().count() > 1 {
        return program.is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// The form the claim query matches against: `,a,b,c,` (so `,x,` finds whole names only).
pub fn claim_list(caps: &[String]) -> String {
    format!(",{},", caps.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_list_matches_whole_names() {
        let list = claim_list(&["codec:h264".into(), "encoder:x265".into()]);
        assert!(list.contains(",codec:h264,"));
        assert!(!list.contains(",codec:h26,"));
        assert_eq!(claim_list(&[]), ",,");
    }

    #[test]
    fn programs_are_looked_up_like_a_shell_would() {
        assert!(is_installed(std::path::Path::new("sh")));
        assert!(!is_installed(std::path::Path::new("no-such-encoder-here")));
        assert!(!is_installed(std::path::Path::new("/nonexistent/x265")));
    }
}
