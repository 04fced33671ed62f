//! The `radar` command line: serve, migrate, demo data and operator commands.
//! Each `admin … create` prints one JSON object line; failures go to stderr with
//! a non-zero exit.

pub mod demo;

use app::api::admin::{Created, Credentials, Migrated, Saved};
use app::api::webhook::{WebhookCreated, WebhookDeleted, WebhookEndpoint};
use app::api::Side;
use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::config::{Config, Settings, DEFAULT_DATABASE_URL};
use crate::error::Error;
use crate::service::{admin, article, signup, webhook};
use crate::AppState;

#[derive(Parser, Debug)]
#[command(
    name = "radar",
    version,
    about = "Radar: sales CRM and live chat for WeCom and WeChat Official Accounts"
)]
pub struct Cli {
    /// Database URL: `sqlite://radar.db?mode=rwc` (the default) or
    /// `postgres://user@host/db` (TLS: `?sslmode=require`, `verify-ca` or
    /// `verify-full` with `&sslrootcert=/path/ca.pem`).
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Serve the API, the sockets and the web pages.
    Serve {
        #[command(flatten)]
        settings: Settings,
    },
    /// Apply the database migrations.
    Migrate,
    /// Seed demo data (idempotent) and print the URLs and tokens to try it.
    Demo {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Operator commands.
    Admin {
        #[command(subcommand)]
        what: Admin,
    },
}

#[derive(Subcommand, Debug)]
pub enum Admin {
    Company {
        #[command(subcommand)]
        op: CompanyOp,
    },
    User {
        #[command(subcommand)]
        op: UserOp,
    },
    Customer {
        #[command(subcommand)]
        op: CustomerOp,
    },
    Relation {
        #[command(subcommand)]
        op: RelationOp,
    },
    Article {
        #[command(subcommand)]
        op: ArticleOp,
    },
    /// Sign-up activities (the article's "plugin_report").
    Activity {
        #[command(subcommand)]
        op: ActivityOp,
    },
    /// Article reviews.
    Review {
        #[command(subcommand)]
        op: ReviewOp,
    },
    Tag {
        #[command(subcommand)]
        op: TagOp,
    },
    /// Webhook endpoints (Standard Webhooks).
    Webhook {
        #[command(subcommand)]
        op: WebhookOp,
    },
}

#[derive(Subcommand, Debug)]
pub enum WebhookOp {
    /// Registers an endpoint; prints its id and secret (shown only here).
    Create {
        #[arg(long)]
        company_id: i64,
        /// Where deliveries are POSTed (http or https).
        #[arg(long)]
        url: String,
        /// Comma-separated event types; all four when omitted.
        #[arg(long, value_delimiter = ',')]
        events: Option<Vec<String>>,
    },
    /// Prints the endpoints with their last status (never their secrets).
    List {
        #[arg(long)]
        company_id: Option<i64>,
    },
    /// Deletes an endpoint and its pending deliveries.
    Delete {
        #[arg(long)]
        id: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum TagOp {
    /// A tag of a sales user, under the global 自定义 group.
    Create {
        #[arg(long)]
        user_id: i64,
        #[arg(long)]
        name: String,
        /// 1 公众号, 2 小程序.
        #[arg(long, default_value_t = 1)]
        tag_type: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum ArticleOp {
    Create {
        #[arg(long)]
        company_id: i64,
        #[arg(long)]
        title: String,
        /// 1 published, 2 draft, 3 deleted.
        #[arg(long, default_value_t = 1)]
        status: i64,
        #[arg(long, default_value_t = 0)]
        read_count: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum ActivityOp {
    Create {
        #[arg(long)]
        title: String,
        #[arg(long)]
        article_id: Option<i64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ReviewOp {
    /// Makes a review visible to every reader.
    Approve {
        #[arg(long)]
        id: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum CompanyOp {
    Create {
        #[arg(long)]
        name: String,
    },
    /// The WeCom (企业微信) app the company's reps sign in with.
    Wecom {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        corp_id: String,
        #[arg(long)]
        agent_id: i64,
        /// The app's Secret; `-` reads it from the first line of stdin.
        #[arg(long)]
        secret: String,
    },
    /// The Official Account (公众号, direct mode) the company's customers sign in with.
    Gongzhonghao {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        appid: String,
        /// The AppSecret; `-` reads it from the first line of stdin.
        #[arg(long)]
        secret: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserOp {
    Create(UserCreate),
    /// Maps a rep to the WeCom user id (账号) they sign in with.
    Update {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        wecom_userid: String,
    },
    /// Issues a new token; the old one stops working everywhere within seconds.
    RotateToken {
        #[arg(long)]
        id: i64,
    },
}

#[derive(Args, Debug)]
pub struct UserCreate {
    #[arg(long)]
    pub company_id: i64,
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub avatar: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub wechat: Option<String>,
    /// The WeCom user id (账号) the rep signs in with.
    #[arg(long)]
    pub wecom_userid: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum CustomerOp {
    Create(CustomerCreate),
    /// Issues a new token; the old one stops working everywhere within seconds.
    RotateToken {
        #[arg(long)]
        id: i64,
    },
}

#[derive(Args, Debug)]
pub struct CustomerCreate {
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub company_id: i64,
    #[arg(long)]
    pub headimgurl: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub user_type: i64,
}

#[derive(Subcommand, Debug)]
pub enum RelationOp {
    Create {
        #[arg(long)]
        user_id: i64,
        #[arg(long)]
        customer_id: i64,
        #[arg(long, default_value_t = 1)]
        source: i64,
    },
}

/// Runs the CLI; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    match dispatch(cli).await {
        Ok(()) => 0,
        Err(msg) => {
            crate::telemetry::say(&format!("error: {msg}"), true);
            1
        }
    }
}

fn describe(e: Error) -> String {
    match e {
        Error::Fields(f) => {
            f.0.iter()
                .map(|(field, errs)| {
                    format!(
                        "{field}: {}",
                        errs.iter()
                            .map(|e| e.message.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
        other => other.to_string(),
    }
}

async fn state(database_url: Option<String>) -> Result<AppState, String> {
    let mut config = Config::from_env()?;
    config.database_url = database_url.unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
    AppState::start(config).await
}

async fn dispatch(cli: Cli) -> Result<(), String> {
    match cli.cmd {
        Cmd::Serve { settings } => {
            // The logger first, so that even a bad setting is reported in
            // the chosen format.
            let format = settings
                .get("RADAR_LOG_FORMAT")
                .unwrap_or_default()
                .parse()
                .unwrap_or_default();
            let filter = settings
                .get("RADAR_LOG")
                .unwrap_or_else(|| crate::telemetry::DEFAULT_LOG_FILTER.into());
            crate::telemetry::init_tracing(format, &filter);
            let mut config = Config::from_settings(&settings)?;
            config.database_url = cli
                .database_url
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
            crate::run_server(config).await
        }
        Cmd::Migrate => {
            state(cli.database_url).await?;
            print_json(&Migrated { migrated: true });
            Ok(())
        }
        Cmd::Demo { json: as_json } => {
            let st = state(cli.database_url).await?;
            let demo = demo::seed(&st).await.map_err(describe);
            // Running servers on the same PostgreSQL database hear of the new
            // messages only if their notifications leave before we exit.
            st.bus.flush(crate::SHUTDOWN_GRACE).await;
            let demo = demo?;
            if as_json {
                println!("{}", demo.to_json());
            } else {
                print!("{}", demo.to_text(&st.config.public_url));
            }
            Ok(())
        }
        Cmd::Admin { what } => {
            let st = state(cli.database_url).await?;
            let out = admin_cmd(&st, what).await.map_err(describe);
            st.bus.flush(crate::SHUTDOWN_GRACE).await;
            match out? {
                Output::Created(c) => print_json(&c),
                Output::Credentials(c) => print_json(&c),
                Output::Saved(c) => print_json(&c),
                Output::WebhookCreated(c) => print_json(&c),
                Output::Webhooks(c) => print_json(&c),
                Output::WebhookDeleted(c) => print_json(&c),
            }
            Ok(())
        }
    }
}

/// What an admin command prints.
enum Output {
    Created(Created),
    Credentials(Credentials),
    Saved(Saved),
    WebhookCreated(WebhookCreated),
    Webhooks(Vec<WebhookEndpoint>),
    WebhookDeleted(WebhookDeleted),
}

/// `--secret -` reads the secret from stdin, keeping it out of `ps` and shell history.
fn secret_arg(secret: String) -> Result<String, Error> {
    if secret != "-" {
        return Ok(secret);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Error::Internal(format!("cannot read the secret from stdin: {e}")))?;
    Ok(line.trim().to_owned())
}

fn created(id: i64) -> Output {
    Output::Created(Created { id })
}

fn credentials(id: i64, token: String) -> Output {
    Output::Credentials(Credentials { id, token })
}

fn print_json<T: Serialize>(v: &T) {
    match serde_json::to_string(v) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("cannot print the result: {e}"),
    }
}

async fn admin_cmd(st: &AppState, what: Admin) -> Result<Output, Error> {
    Ok(match what {
        Admin::Company {
            op: CompanyOp::Create { name },
        } => created(admin::create_company(st, &name).await?),
        Admin::Company {
            op:
                CompanyOp::Wecom {
                    id,
                    corp_id,
                    agent_id,
                    secret,
                },
        } => {
            admin::set_wecom_app(st, id, &corp_id, agent_id, &secret_arg(secret)?).await?;
            Output::Saved(Saved { id })
        }
        Admin::Company {
            op: CompanyOp::Gongzhonghao { id, appid, secret },
        } => {
            admin::set_official_account(st, id, &appid, &secret_arg(secret)?).await?;
            Output::Saved(Saved { id })
        }
        Admin::User {
            op: UserOp::Create(u),
        } => {
            let (id, token) = admin::create_user_with(
                st,
                admin::NewUser {
                    company_id: u.company_id,
                    name: &u.name,
                    avatar: u.avatar.as_deref(),
                    phone: u.phone.as_deref(),
                    wechat: u.wechat.as_deref(),
                },
                u.wecom_userid.as_deref(),
            )
            .await?;
            credentials(id, token)
        }
        Admin::User {
            op: UserOp::Update { id, wecom_userid },
        } => {
            admin::set_wecom_userid(st, id, &wecom_userid).await?;
            Output::Saved(Saved { id })
        }
        Admin::Customer {
            op: CustomerOp::Create(c),
        } => {
            let (id, token) = admin::create_customer(
                st,
                admin::NewCustomer {
                    name: &c.name,
                    company_id: c.company_id,
                    headimgurl: c.headimgurl.as_deref(),
                    user_type: c.user_type,
                },
            )
            .await?;
            credentials(id, token)
        }
        Admin::User {
            op: UserOp::RotateToken { id },
        } => credentials(id, admin::rotate_token(st, Side::Sales, id).await?),
        Admin::Customer {
            op: CustomerOp::RotateToken { id },
        } => credentials(id, admin::rotate_token(st, Side::Customer, id).await?),
        Admin::Relation {
            op:
                RelationOp::Create {
                    user_id,
                    customer_id,
                    source,
                },
        } => created(admin::create_relation(st, user_id, customer_id, source).await?),
        Admin::Article {
            op:
                ArticleOp::Create {
                    company_id,
                    title,
                    status,
                    read_count,
                },
        } => created(article::create_article(st, company_id, &title, status, read_count).await?),
        Admin::Activity {
            op: ActivityOp::Create { title, article_id },
        } => created(signup::create_activity(st, &title, article_id).await?),
        Admin::Review {
            op: ReviewOp::Approve { id },
        } => created(article::approve_review(st, id).await?),
        Admin::Tag {
            op:
                TagOp::Create {
                    user_id,
                    name,
                    tag_type,
                },
        } => created(crate::service::crm::tags::create(st, user_id, &name, tag_type).await?),
        Admin::Webhook {
            op:
                WebhookOp::Create {
                    company_id,
                    url,
                    events,
                },
        } => {
            Output::WebhookCreated(webhook::create(st, company_id, &url, events.as_deref()).await?)
        }
        Admin::Webhook {
            op: WebhookOp::List { company_id },
        } => Output::Webhooks(webhook::list(st, company_id).await?),
        Admin::Webhook {
            op: WebhookOp::Delete { id },
        } => Output::WebhookDeleted(webhook::delete(st, id).await?),
    })
}
