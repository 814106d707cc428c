//! `neurite-serve`: the inference server binary (AWS Lambda handler or HTTP server).

use std::process::ExitCode;

use clap::Parser;
use neurite_serve::ServeOptions;

#[derive(Parser)]
#[command(
    name = "neurite-serve",
    version,
    about = "Serve neurite models over HTTP (TF Serving/KServe V1, KServe V2, MLflow) with a web UI, or as an AWS Lambda handler"
)]
struct Cli {
    #[command(flatten)]
    opts: ServeOptions,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match neurite_serve::run(cli.opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
