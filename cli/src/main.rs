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
    /// Model registry folder (default: neurite.yaml's paths.models, else `models`).
    #[arg(long, global = true, env = "NEURITE_MODELS")]
    models_dir: Option<PathBuf>,
    /// Global configuration file (default: $NEURITE_CONFIG, else ./neurite.yaml if present).
    #[arg(long, global = true)]
    global_config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on a CSV file and save it as a new version in the registry.
    Train(Box<commands::train::TrainArgs>),
    /// Search hyperparameters (grid, random, TPE, GP) and register the best model.
    Tune(Box<commands::tune::TuneArgs>),
    /// Predict with a saved model on the rows of a CSV file.
    Predict(commands::predict::PredictArgs),
    /// Metrics of a saved model on a CSV file that holds the targets.
    Eval(commands::eval::EvalArgs),
    /// Inspect and manage the model registry (versions, aliases).
    Models(commands::models::ModelsArgs),
    /// Training runs recorded under experiments/.
    Experiments(commands::experiments::ExperimentsArgs),
    /// Write an HTML report of a model version or of an experiment's runs.
    Report(commands::report::ReportArgs),
    /// Show the merged configuration and where each value comes from.
    Config(Box<commands::config::ConfigArgs>),
    /// Benchmarks: `neurite bench kernels [--quick] [--json]`.
    Bench(commands::bench::BenchArgs),
    /// What this machine offers: CPU features and kernel tier, CUDA devices or why there are none.
    Doctor(commands::doctor::DoctorArgs),
    /// Write a commented starter model configuration.
    Init(commands::config::InitArgs),
    /// Prepare, augment or synthesize data.
    #[command(subcommand)]
    Data(commands::data::DataCommand),
    /// Explore a CSV: column summary, target distribution, correlations; HTML report.
    Eda(Box<commands::eda::EdaArgs>),
    /// Feature analysis of a trained model.
    #[command(subcommand)]
    Features(commands::features::FeaturesCommand),
    /// Serve models over HTTP (with a web UI), or as an AWS Lambda handler.
    Serve(Box<neurite_serve::ServeOptions>),
}

/// Exit quietly when stdout is closed (`neurite … | head`), like other Unix tools, instead of
/// panicking in `println!`: Rust ignores SIGPIPE by default, which turns the closed pipe into a
/// write error.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    // Commands whose kernels run on this thread make it a pool worker (one thread hand-over
    // less per parallel kernel call; see `neurite_kernels::init_pool`). Not `tune`, whose
    // trials run on their own threads, nor `serve`, whose requests do.
    if !matches!(cli.command, Command::Tune(_) | Command::Serve(_)) {
        neurite_kernels::init_pool();
    }
    let paths = match commands::Paths::resolve(cli.models_dir, cli.global_config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Train(a) => commands::train::run(*a, &paths),
        Command::Tune(a) => commands::tune::run(*a, &paths),
        Command::Predict(a) => commands::predict::run(a, &paths),
        Command::Eval(a) => commands::eval::run(a, &paths),
        Command::Models(a) => commands::models::run(a, &paths.models),
        Command::Experiments(a) => commands::experiments::run(a, &paths),
        Command::Config(a) => commands::config::run(*a, &paths),
        Command::Report(a) => commands::report::run(a, &paths),
        Command::Init(a) => commands::config::init(a),
        Command::Doctor(a) => commands::doctor::run(a),
        Command::Bench(a) => commands::bench::run(a),
        Command::Data(c) => commands::data::run(c),
        Command::Eda(a) => commands::eda::run(*a),
        Command::Features(c) => commands::features::run(c, &paths.models),
        Command::Serve(a) => commands::serve::run(*a, &paths.models),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
