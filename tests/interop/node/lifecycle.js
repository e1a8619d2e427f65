// A Kuscia client written in Node.js, as a user would write one: it loads the .proto
// files (no generated code, no reflection) and drives one job through its lifecycle:
// CreateJob -> WatchJob until the job Succeeded -> QueryJob -> DeleteJob -> QueryJob.
//
//   node lifecycle.js <host:port> <proto root> <CreateJob body .json>
//
// Prints one JSON object with what it saw on stdout and exits 0, or prints the error on
// stderr and exits 1. tests/interop/test_node_client.py runs it and checks the result.
"use strict";

const fs = require("fs");
const path = require("path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const [address, protoRoot, bodyFile] = process.argv.slice(2);
const WATCH_SECONDS = 60;

function loadJobService() {
  const definition = protoLoader.loadSync(
    path.join("dagwire", "kuscia", "v1alpha1", "kusciaapi", "job.proto"),
    {
      includeDirs: [protoRoot],
      keepCase: true, // field names as in the .proto files, as Kuscia documents them
      longs: String,
      enums: String,
      defaults: true,
    },
  );
  const loaded = grpc.loadPackageDefinition(definition);
  return loaded.kuscia.proto.api.v1alpha1.kusciaapi.JobService;
}

function unary(client, method, request) {
  return new Promise((resolve, reject) => {
    const metadata = new grpc.Metadata();
    metadata.set("x-request-id", `node-${method}`);
    client[method](request, metadata, { deadline: Date.now() + 30_000 }, (error, reply) =>
      error ? reject(error) : resolve(reply),
    );
  });
}

// Resolves with the types of the events seen for `jobId` once one reports Succeeded.
function watchUntilSucceeded(client, jobId) {
  return new Promise((resolve, reject) => {
    const seen = [];
    const call = client.WatchJob({ timeout_seconds: WATCH_SECONDS });
    call.on("data", (event) => {
      if (event.type === "HEARTBEAT" || !event.object || event.object.job_id !== jobId) return;
      seen.push(`${event.type}:${event.object.status.state}`);
      if (event.object.status.state === "Succeeded") {
        call.cancel();
        resolve(seen);
      }
    });
    call.on("error", (error) => {
      if (error.code !== grpc.status.CANCELLED) reject(error);
    });
    call.on("end", () => reject(new Error(`the watch ended before ${jobId} succeeded: ${seen}`)));
  });
}

async function main() {
  const JobService = loadJobService();
  const client = new JobService(address, grpc.credentials.createInsecure());
  const body = JSON.parse(fs.readFileSync(bodyFile, "utf8"));
  const jobId = body.job_id;

  const created = await unary(client, "CreateJob", body);
  const watched = await watchUntilSucceeded(client, jobId);
  const queried = await unary(client, "QueryJob", { job_id: jobId });
  const deleted = await unary(client, "DeleteJob", { job_id: jobId });
  const gone = await unary(client, "QueryJob", { job_id: jobId });
  client.close();

  process.stdout.write(
    JSON.stringify({
      created: { code: created.status.code, job_id: created.data.job_id },
      watched,
      queried: {
        code: queried.status.code,
        state: queried.data.status.state,
        tasks: queried.data.tasks.map((task) => task.task_id),
        task_states: queried.data.status.tasks.map((task) => task.state),
      },
      deleted: { code: deleted.status.code, message: deleted.status.message, job_id: deleted.data && deleted.data.job_id },
      gone: { code: gone.status.code },
    }) + "\n",
  );
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
