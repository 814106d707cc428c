//! The UI in headless Chromium: starts the real server on a trained model and runs
//! `tests/ui/e2e.mjs` (playwright-core). Prints "skipped: chromium not installed" and passes
//! when Chromium, Node or the node modules are absent (`serve/scripts/ci-setup.sh` installs
//! them). Screenshots land in `target/ui-e2e/`.

mod common;

use std::path::Path;
use std::process::Command;

use common::Server;

#[test]
fn ui_end_to_end_in_headless_chromium() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let have_node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !Path::new(&chromium).exists()
        || !have_node
        || !ui.join("node_modules/playwright-core").exists()
    {
        println!("skipped: chromium not installed (run serve/scripts/ci-setup.sh)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    common::train(&models, "iris.csv", &["species"], "iris", 20, 1);
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        logs.join("iris-run.jsonl"),
        "{\"epoch\":1,\"loss\":1.05,\"val_loss\":1.08,\"val_accuracy\":0.4}\n{\"epoch\":2,\"loss\":0.82,\"val_loss\":0.86,\"val_accuracy\":0.7}\n{\"epoch\":3,\"loss\":0.61,\"val_loss\":0.66,\"val_accuracy\":0.9}\n",
    )
    .unwrap();
    // A CSV as a user has it: the training file, target column included (ignored by the UI).
    let csv = dir.path().join("rows.csv");
    let full = std::fs::read_to_string(common::repo_root().join("data/iris.csv")).unwrap();
    std::fs::write(
        &csv,
        full.lines().take(26).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    let s = Server::start(
        &[
            "--models",
            models.to_str().unwrap(),
            "--logs",
            logs.to_str().unwrap(),
            "--inference-log",
            "off",
        ],
        &[],
    );
    let shots = common::repo_root().join("target/ui-e2e");
    let out = Command::new("node")
        .arg(ui.join("e2e.mjs"))
        .arg(format!("http://{}", s.addr))
        .arg(&shots)
        .arg(&csv)
        .arg("iris")
        .arg("iris-run")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && stdout.contains("ui e2e: ok"),
        "the UI test failed"
    );
    assert!(shots.join("dashboard.png").exists());
}
