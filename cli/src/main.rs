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
    /// Prepare, augment or synthesize data.
    #[command(subcommand)]
    Data(commands::data::DataCommand),
    /// Explore a CSV: column summary, target distribution, correlations; HTML report.
    Eda(Box<commands::eda::EdaArgs>),
    /// Feature analysis of a trained model.
    #[command(subcommand)]
    Features(commands::features::FeaturesCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => commands::train::run(*a, &cli.models_dir),
        Command::Predict(a) => commands::predict::run(a, &cli.models_dir),
        Command::Data(c) => commands::data::run(c),
        Command::Eda(a) => commands::eda::run(*a),
        Command::Features(c) => commands::features::run(c, &cli.models_dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
