//! `carbon cluster init|status|add|remove`: set up and watch a replicated
//! ledger (docs/CLUSTER.md). `init` writes a development cluster on one
//! machine; the others talk to the members' cluster addresses.

use std::path::PathBuf;

use anyhow::{bail, Context};
use carbon_proto::cluster::cluster_client::ClusterClient;
use carbon_proto::cluster::{AddMemberRequest, MemberStatus, RemoveMemberRequest, StatusRequest};
use carbon_server::cluster::{ClusterFile, MemberEntry};
use carbon_server::{keyfile, DEV_OPERATOR, DEV_REGULATORS};
use ed25519_dalek::SigningKey;
use serde_json::json;
use tonic::transport::Channel;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Write a development cluster on this machine: fresh keys, a genesis
    /// and a cluster file whose members listen on loopback.
    Init(InitArgs),
    /// Each member's role, term, leader and positions.
    Status(FileArgs),
    /// Add the member the cluster file names (caught up as a learner first,
    /// then a voter).
    Add(MemberArgs),
    /// Remove a member from the voters.
    Remove(MemberArgs),
}

#[derive(clap::Args)]
pub struct InitArgs {
    /// The folder to write (created; must not hold a cluster file).
    #[arg(long)]
    dir: PathBuf,
    /// Members (3 or 5 make sense: a majority survives one or two losses).
    #[arg(long, default_value_t = 3)]
    members: u64,
    /// Member N's public gRPC port is this + N - 1.
    #[arg(long, default_value_t = 7001)]
    api_port: u16,
    /// Member N's cluster port is this + N - 1.
    #[arg(long, default_value_t = 7101)]
    cluster_port: u16,
}

#[derive(clap::Args)]
pub struct FileArgs {
    /// The cluster file.
    #[arg(long)]
    cluster: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct MemberArgs {
    /// The cluster file (it gives the member's addresses).
    #[arg(long)]
    cluster: PathBuf,
    /// The member's id.
    #[arg(long)]
    node: u64,
}

pub fn run(c: Command) -> anyhow::Result<()> {
    match c {
        Command::Init(a) => init(a),
        Command::Status(a) => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(status(a))
        }
        Command::Add(a) => change(a, true),
        Command::Remove(a) => change(a, false),
    }
}

fn init(a: InitArgs) -> anyhow::Result<()> {
    if !(1..=9).contains(&a.members) {
        bail!("--members: 1 to 9");
    }
    let file = a.dir.join("cluster.json");
    if file.exists() {
        bail!("{} exists already", file.display());
    }
    let keys = a.dir.join("keys");
    std::fs::create_dir_all(&keys).with_context(|| format!("creating {}", keys.display()))?;
    let fresh = |id: &str| -> anyhow::Result<SigningKey> {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        keyfile::write(&keys.join(format!("{id}.key")), &key)?;
        Ok(key)
    };
    let operator = fresh(DEV_OPERATOR)?;
    let mut regulators = Vec::new();
    for (id, jurisdiction) in DEV_REGULATORS {
        let key = fresh(id)?;
        regulators.push(json!({
            "id": id, "jurisdiction": jurisdiction,
            "public_key": hex::encode(key.verifying_key().to_bytes()),
        }));
    }
    let genesis = json!({
        "cmd": "genesis", "operator": DEV_OPERATOR,
        "operator_public_key": hex::encode(operator.verifying_key().to_bytes()),
        "regulators": regulators,
    });
    std::fs::write(a.dir.join("genesis.json"), format!("{genesis}\n"))?;
    let members: Vec<_> = (1..=a.members)
        .map(|n| {
            json!({
                "id": n,
                "api": format!("127.0.0.1:{}", u64::from(a.api_port) + n - 1),
                "cluster": format!("127.0.0.1:{}", u64::from(a.cluster_port) + n - 1),
                "data": format!("member-{n}"),
            })
        })
        .collect();
    let cluster = json!({
        "genesis": "genesis.json",
        "operator_key": format!("keys/{DEV_OPERATOR}.key"),
        "members": members,
    });
    std::fs::write(&file, serde_json::to_string_pretty(&cluster)? + "\n")?;
    println!(
        "wrote {} (keys in {}: keep them secret)",
        file.display(),
        keys.display()
    );
    println!("start each member, e.g.:");
    for n in 1..=a.members {
        println!("  carbon serve --cluster {} --node {n}", file.display());
    }
    Ok(())
}

/// A client of a member's cluster service.
async fn connect(m: &MemberEntry) -> anyhow::Result<ClusterClient<Channel>> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", m.cluster))?
        .connect_timeout(std::time::Duration::from_secs(1))
        .timeout(std::time::Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("member {} at {}", m.id, m.cluster))?;
    Ok(ClusterClient::new(channel))
}

/// Every member's status; `Err` for those that do not answer.
pub async fn statuses(c: &ClusterFile) -> Vec<(u64, anyhow::Result<MemberStatus>)> {
    let mut out = Vec::new();
    for m in &c.members {
        let answer = async {
            let mut client = connect(m).await?;
            anyhow::Ok(client.status(StatusRequest {}).await?.into_inner())
        };
        out.push((m.id, answer.await));
    }
    out
}

async fn status(a: FileArgs) -> anyhow::Result<()> {
    let c = ClusterFile::read(&a.cluster)?;
    let all = statuses(&c).await;
    if a.json {
        let rows: Vec<_> = all
            .iter()
            .map(|(id, s)| match s {
                Ok(s) => json!({
                    "id": s.id, "role": s.role, "leader": s.leader, "term": s.term,
                    "last_log_index": s.last_log_index, "applied_index": s.applied_index,
                    "journal_len": s.journal_len,
                    "voters": s.members.iter().filter(|p| p.voter).map(|p| p.id).collect::<Vec<_>>(),
                }),
                Err(e) => json!({ "id": id, "error": format!("{e:#}") }),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:>4}  {:<10} {:>6} {:>7} {:>10} {:>10} {:>10}",
        "id", "role", "term", "leader", "log", "applied", "journal"
    );
    for (id, s) in all {
        match s {
            Ok(s) => println!(
                "{:>4}  {:<10} {:>6} {:>7} {:>10} {:>10} {:>10}",
                s.id,
                s.role,
                s.term,
                s.leader.map(|l| l.to_string()).unwrap_or_else(|| "-".into()),
                s.last_log_index,
                s.applied_index,
                s.journal_len
            ),
            Err(e) => println!("{id:>4}  down       ({e:#})"),
        }
    }
    Ok(())
}

/// How long `add` and `remove` keep trying while the cluster elects a leader.
const CHANGE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// Adds or removes `a.node` through the leader. While there is no leader
/// (an election), or the one asked has just stopped leading, it asks again:
/// both changes can be repeated safely (a member added twice is added once).
fn change(a: MemberArgs, add: bool) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let c = ClusterFile::read(&a.cluster)?;
        let deadline = std::time::Instant::now() + CHANGE_PATIENCE;
        let members = loop {
            let attempt = async {
                let leader = leader(&c).await?;
                let mut client = connect(c.member(leader)?).await?;
                let answer = if add {
                    let m = c.member(a.node)?;
                    client
                        .add_member(AddMemberRequest {
                            id: m.id,
                            cluster: m.cluster.clone(),
                            api: m.api.clone(),
                        })
                        .await
                } else {
                    client.remove_member(RemoveMemberRequest { id: a.node }).await
                };
                anyhow::Ok(answer)
            };
            match attempt.await {
                Ok(Ok(answer)) => break answer.into_inner().members,
                // Refused for a reason that waiting does not change.
                Ok(Err(s)) if !s.message().starts_with("not the leader") && s.code() != tonic::Code::Unavailable => {
                    bail!("{}", s.message())
                }
                Ok(Err(s)) if std::time::Instant::now() > deadline => bail!("{}", s.message()),
                Err(e) if std::time::Instant::now() > deadline => return Err(e),
                _ => tokio::time::sleep(std::time::Duration::from_millis(300)).await,
            }
        };
        for p in members {
            println!(
                "{:>4}  {:<8} cluster {}  api {}",
                p.id,
                if p.voter { "voter" } else { "learner" },
                p.cluster,
                p.api
            );
        }
        Ok(())
    })
}

/// The id of the member that leads, as a majority of the members say.
async fn leader(c: &ClusterFile) -> anyhow::Result<u64> {
    let said = statuses(c).await;
    let named: Vec<u64> = said.iter().filter_map(|(_, s)| s.as_ref().ok()?.leader).collect();
    for l in &named {
        if named.iter().filter(|n| *n == l).count() > c.members.len() / 2 {
            return Ok(*l);
        }
    }
    // Fewer answers than a majority of the file (members removed, or down):
    // the one most of those that answered name.
    named
        .iter()
        .max_by_key(|l| named.iter().filter(|n| n == l).count())
        .copied()
        .ok_or_else(|| anyhow::anyhow!("no member knows a leader"))
}
