//! A process killed while it holds a throwaway cluster cannot stop it; the next cluster
//! started on the machine does.

use cutover_db_postgres::cluster::TempCluster;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HOLD: &str = "CUTOVER_TEST_HOLD_A_CLUSTER";

fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat[stat.rfind(')').unwrap() + 1..].trim_start().starts_with('Z'))
}

#[test]
fn a_cluster_whose_owner_was_killed_is_stopped_and_removed_by_the_next_start() {
    if std::env::var_os(HOLD).is_some() {
        // The owner: this same test, run again as a child process (below), which starts a
        // cluster, says where it is, and waits to be killed.
        cutover_test_support::install_environment();
        let cluster = TempCluster::start().expect("a cluster");
        println!("holding {} {}", cluster.dir().display(), cluster.server_pid().unwrap());
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    }
    let mut owner = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_cluster_whose_owner_was_killed_is_stopped_and_removed_by_the_next_start", "--nocapture"])
        .env(HOLD, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (dir, server) = BufReader::new(owner.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            let rest = line.strip_prefix("holding ")?.to_string();
            let (dir, pid) = rest.rsplit_once(' ')?;
            Some((std::path::PathBuf::from(dir), pid.parse::<u32>().ok()?))
        })
        .expect("the owner reports its cluster");
    owner.kill().unwrap();
    owner.wait().unwrap();
    assert!(dir.exists() && running(server), "killing the owner leaves its cluster behind");

    cutover_test_support::install_environment();
    let next = TempCluster::start().expect("the next cluster");
    let deadline = Instant::now() + Duration::from_secs(10);
    while running(server) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!running(server), "the abandoned server {server} still runs");
    assert!(!dir.exists(), "the abandoned cluster {} was not removed", dir.display());
    assert!(next.dir().exists());
}
