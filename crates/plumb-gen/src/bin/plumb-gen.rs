//! `plumb-gen DIR JOBS FILES`: writes a generated workspace to DIR (for timing the
//! `plumb` process; the benchmarks generate in memory).

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(jobs), Some(files)) = (
        args.get(1),
        args.get(2).and_then(|a| a.parse().ok()),
        args.get(3).and_then(|a| a.parse().ok()),
    ) else {
        eprintln!("usage: plumb-gen DIR JOBS FILES");
        return std::process::ExitCode::from(2);
    };
    for f in plumb_gen::workspace(jobs, files) {
        let path = std::path::Path::new(dir).join(&f.path);
        if let Some(parent) = path.parent() {
            if let Err(e) = std::fs::create_dir_all(parent) {
                eprintln!("plumb-gen: {}: {e}", parent.display());
                return std::process::ExitCode::from(2);
            }
        }
        if let Err(e) = std::fs::write(&path, f.text) {
            eprintln!("plumb-gen: {}: {e}", path.display());
            return std::process::ExitCode::from(2);
        }
    }
    std::process::ExitCode::SUCCESS
}
