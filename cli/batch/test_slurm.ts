/**
 * A one-node Slurm cluster for tests, in a temporary directory: its own munged (socket, key,
 * pid, log and seed files in the directory: nothing creates /run/munge here), slurmctld and
 * slurmd on free ports, state and spool in the directory, no cgroups
 * (`proctrack/linuxproc`, `task/none`), 16 CPUs and 4 file-less-device "GPUs" declared so
 * `--gres=gpu:1 --cpus-per-task=4` tasks run four at a time; requeue (what preemption does)
 * only for jobs submitted with `--requeue`, after ~6 s. Needs root (slurmd runs jobs as
 * their user) and the `slurm` runtime of testing/runtimes.ts. {@linkcode SlurmCluster.stop}
 * cancels what is queued and stops the three daemons it started, by their PIDs.
 *
 * @module
 */

import { join } from "node:path";

/** A command's outcome. */
export interface Ran {
  /** Exit code. */
  code: number;
  /** Standard output, decoded. */
  stdout: string;
  /** Standard error, decoded. */
  stderr: string;
}

/** A running one-node cluster. */
export interface SlurmCluster {
  /** Its directory (slurm.conf, logs, state). */
  dir: string;
  /** The node's name (this host's short name). */
  node: string;
  /** Environment for Slurm's clients: SLURM_CONF, and PATH with /usr/sbin. */
  env: Record<string, string>;
  /** Run a client (`sbatch`, `scancel`, …) against this cluster. */
  run(program: string, args: string[], options?: RunOptions): Promise<Ran>;
  /** The state of a job or array task (`COMPLETED`, `RUNNING`, …), or null when unknown. */
  jobState(id: string): Promise<string | null>;
  /** Cancel every job, then stop slurmd, slurmctld and munged by PID. Safe to repeat. */
  stop(): Promise<void>;
}

/** Options of {@linkcode SlurmCluster.run}. */
export interface RunOptions {
  /** More environment (over the cluster's). */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
}

const decoder = new TextDecoder();
/** A busy controller's answers, worth asking again (a loaded box: the suite runs beside us). */
const TRANSIENT =
  /Socket timed out|Unable to contact slurm controller|Zero Bytes were transmitted|Connection refused|temporarily unavailable/i;
/** Clients safe to repeat (not sbatch: a timed-out submission may still have been queued). */
const RETRIED = new Set(["scontrol", "squeue", "sinfo", "scancel"]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a cluster's commands keep of our environment: no SLURM_* or ZIPAR_* leaks in. */
const KEPT = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR", "LANG"];

/** Run `program` with `env` over the few variables of {@linkcode KEPT}. */
export async function runProgram(
  program: string,
  args: string[],
  env: Record<string, string>,
  cwd?: string,
): Promise<Ran> {
  const kept = KEPT.flatMap((k) => {
    const v = Deno.env.get(k);
    return v === undefined ? [] : [[k, v]];
  });
  const out = await new Deno.Command(program, {
    args,
    env: { ...Object.fromEntries(kept), ...env },
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** A TCP port on 127.0.0.1 that nothing listens on now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function slurmConf(dir: string, node: string, ports: [number, number]): string {
  return `# A one-node test cluster (cli/batch/test_slurm.ts).
ClusterName=zipartest
SlurmctldHost=${node}(127.0.0.1)
SlurmctldPort=${ports[0]}
SlurmdPort=${ports[1]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# cred_expire: a requeued job waits cred_expire + 1 s before it may start again (default 120).
AuthInfo=socket=${dir}/munge/socket,cred_expire=5
CredType=cred/munge
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${dir}/slurmctld.log
SlurmdLogFile=${dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
# Only jobs that ask for it (sbatch --requeue) may be requeued, as on many production clusters.
JobRequeue=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
KillWait=2
MinJobAge=600
NodeName=${node} NodeAddr=127.0.0.1 CPUs=16 Boards=1 SocketsPerBoard=1 CoresPerSocket=16 ThreadsPerCore=1 RealMemory=256000 Gres=gpu:4 State=UNKNOWN
PartitionName=test Nodes=${node} Default=YES MaxTime=INFINITE State=UP
`;
}

/** Start munged, slurmctld and slurmd in `dir` (created); resolves when the node is idle. */
export async function startSlurm(dir: string): Promise<SlurmCluster> {
  for (const sub of ["munge", "state", "spool", "dev"]) {
    await Deno.mkdir(join(dir, sub), { recursive: true });
  }
  await Deno.chmod(join(dir, "munge"), 0o755);
  const base = { PATH: `${Deno.env.get("PATH") ?? "/usr/bin:/bin"}:/usr/sbin:/sbin` };
  const node = Deno.hostname().split(".")[0] || "localhost"; // Slurm's short name
  // A key of our own: this cluster needs no other's and works where /etc/munge has none.
  const key = join(dir, "munge", "munge.key");
  await Deno.writeFile(key, crypto.getRandomValues(new Uint8Array(1024)), { mode: 0o600 });
  await Deno.chmod(key, 0o600);
  // Four "GPUs": character devices if mknod may (the node's gres.conf wants device files).
  for (let g = 0; g < 4; g++) {
    const dev = join(dir, "dev", `gpu${g}`);
    const made = await runProgram("mknod", [dev, "c", "1", "3"], base);
    if (made.code !== 0) await Deno.writeTextFile(dev, "");
  }
  const conf = join(dir, "slurm.conf");
  await Deno.writeTextFile(conf, slurmConf(dir, node, [freePort(), freePort()]));
  await Deno.writeTextFile(
    join(dir, "gres.conf"),
    `NodeName=${node} Name=gpu File=${dir}/dev/gpu[0-3]\n`,
  );
  const env = { ...base, SLURM_CONF: conf };

  const daemons: Deno.ChildProcess[] = [];
  const spawn = (program: string, args: string[]) => {
    const child = new Deno.Command(program, {
      args,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    daemons.push(child);
    return child;
  };
  const run = async (program: string, args: string[], options: RunOptions = {}) => {
    for (let attempt = 1;; attempt++) {
      const r = await runProgram(program, args, { ...env, ...options.env }, options.cwd);
      const retry = RETRIED.has(program) && attempt < 5 && TRANSIENT.test(r.stderr);
      if (r.code === 0 || !retry) return r;
      await sleep(300);
    }
  };
  const jobState = async (id: string) => {
    const shown = await run("scontrol", ["-o", "show", "job", id]);
    return /JobState=(\S+)/.exec(shown.stdout)?.[1] ?? null;
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (daemons.length >= 2) {
      await run("scancel", ["--full", "--user", "root"]).catch(() => {});
      for (let t = 0; t < 50; t++) {
        const queue = await run("squeue", ["-h", "-t", "all", "-o", "%T"]).catch(() => null);
        if (!queue || !/RUNNING|COMPLETING|PENDING|CONFIGURING/.test(queue.stdout)) break;
        await sleep(100);
      }
    }
    // slurmd, slurmctld, then munged: each by its PID, SIGKILL when SIGTERM is not enough.
    for (const child of daemons.reverse()) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const done = await Promise.race([
        child.status.then(() => true),
        sleep(5000).then(() => false),
      ]);
      if (!done) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
        await child.status;
      }
    }
  };
  const cluster: SlurmCluster = { dir, node, env, run, jobState, stop };
  try {
    spawn("munged", [
      "--foreground",
      "--force",
      `--socket=${dir}/munge/socket`,
      `--key-file=${key}`,
      `--pid-file=${dir}/munge/munged.pid`,
      `--log-file=${dir}/munge/munged.log`,
      `--seed-file=${dir}/munge/munged.seed`,
    ]);
    await waitFor(() => Deno.stat(`${dir}/munge/socket`).then(() => true, () => false), "munged");
    spawn("slurmctld", ["-D", "-i", "-f", conf]);
    spawn("slurmd", ["-D", "-f", conf, "-N", node]);
    await waitFor(
      async () => {
        const info = await run("sinfo", ["-h", "-n", node, "-o", "%T"]);
        return info.stdout.trim() === "idle";
      },
      "the Slurm node to be idle",
      30_000,
    );
  } catch (e) {
    const logs = await Promise.all(
      ["slurmctld.log", "slurmd.log", "munge/munged.log"].map((f) =>
        Deno.readTextFile(join(dir, f)).then((t) => `${f}:\n${t.slice(-1500)}`, () => "")
      ),
    );
    await stop();
    throw new Error(`${(e as Error).message}\n${logs.join("\n")}`);
  }
  return cluster;
}

/** Poll `ready` every 100 ms until it is true; throw after `timeoutMs`. */
export async function waitFor(
  ready: () => Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}
