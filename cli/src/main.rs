//! `neurite`: from a raw CSV to a trained, versioned, served neural network.

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "neurite",
    version,
    about = "Train, evaluate and serve neural networks from CSV files"
)]
struct Cli {
    /// Model registry folder.
    #[arg(long, global = true, env = "NEURITE_MODELS", default_value = "models")]
    models_dir: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on a CSV file and save it as a new version in the registry.
    Train(Box<commands::train::TrainArgs>),
    /// Predict with a saved model on the rows of a CSV file.
    Predict(commands::predict::PredictArgs),
    /// Serve models over HTTP (with a web UI), or as an AWS Lambda handler.
    Serve(Box<neurite_serve::ServeOptions>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => commands::train::run(*a, &cli.models_dir),
        Command::Predict(a) => commands::predict::run(a, &cli.models_dir),
        Command::Serve(a) => commands::serve::run(*a, &cli.models_dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
