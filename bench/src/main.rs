use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "radar-bench",
    version,
    about = "Benchmark Radar: spawn `radar serve` on fresh databases, drive load, report (BENCHMARKS.md)"
)]
struct Cli {
    #[command(flatten)]
    args: bench::BenchArgs,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// The baseline server (no database); started by the run itself.
    #[command(hide = true)]
    Baseline {
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: String,
    },
}

fn main() {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let done = rt.block_on(async move {
        match cli.cmd {
            Some(Cmd::Baseline { addr }) => bench::baseline::serve(&addr).await,
            None => bench::run(cli.args).await,
        }
    });
    if let Err(msg) = done {
        eprintln!("error: {msg}");
        std::process::exit(1);
    }
}
