// A Node.js client with no .proto files of dagwire's: it learns the API from server
// reflection v1 (grpc.reflection.v1.ServerReflection, the version newer clients use),
// builds its stubs from the reflected descriptors, and calls JobService.QueryJob.
//
//   node reflected.js <host:port> [job id]
//
// Prints one JSON object with what it saw on stdout and exits 0, or prints the error on
// stderr and exits 1. tests/interop/test_node_reflection.py runs it; the README's
// "Clients in other languages" section explains the proto-loader options below.
"use strict";

const path = require("path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const [address, jobId = "no-such-job"] = process.argv.slice(2);
const JOB_SERVICE = "kuscia.proto.api.v1alpha1.kusciaapi.JobService";
// The v1 reflection protocol itself, as @grpc/reflection ships it.
const REFLECTION_PROTO = path.join(
  path.dirname(require.resolve("@grpc/reflection/package.json")),
  "build", "proto", "grpc", "reflection", "v1", "reflection.proto",
);
// The options every dagwire client in Node needs; see the README.
const OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true };

function reflectionClient() {
  const definition = protoLoader.loadSync(REFLECTION_PROTO, OPTIONS);
  const { ServerReflection } = grpc.loadPackageDefinition(definition).grpc.reflection.v1;
  return new ServerReflection(address, grpc.credentials.createInsecure());
}

// Sends each request on one reflection stream and resolves with the answers in order.
function reflect(client, requests) {
  return new Promise((resolve, reject) => {
    const answers = [];
    const call = client.ServerReflectionInfo();
    call.on("data", (answer) => {
      answers.push(answer);
      if (answers.length === requests.length) call.end();
    });
    call.on("error", reject);
    call.on("end", () => resolve(answers));
    for (const request of requests) call.write(request);
  });
}

// A FileDescriptorSet (field 1, length-delimited, once per file) from serialized files.
function descriptorSet(files) {
  const parts = [];
  for (const file of files) {
    const length = [];
    let n = file.length;
    do {
      length.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>>= 7;
    } while (n > 0);
    parts.push(Buffer.from([0x0a, ...length]), file);
  }
  return Buffer.concat(parts);
}

function unary(client, method, request) {
  return new Promise((resolve, reject) =>
    client[method](request, { deadline: Date.now() + 30_000 }, (error, reply) =>
      error ? reject(error) : resolve(reply),
    ),
  );
}

async function main() {
  const [listed, described] = await reflect(reflectionClient(), [
    { list_services: "" },
    { file_containing_symbol: JOB_SERVICE },
  ]);
  const files = described.file_descriptor_response.file_descriptor_proto;
  const definition = protoLoader.loadFileDescriptorSetFromBuffer(descriptorSet(files), OPTIONS);
  const JobService = grpc.loadPackageDefinition(definition).kuscia.proto.api.v1alpha1.kusciaapi
    .JobService;
  const jobs = new JobService(address, grpc.credentials.createInsecure());
  const queried = await unary(jobs, "QueryJob", { job_id: jobId });
  console.log(
    JSON.stringify({
      services: listed.list_services_response.service.map((s) => s.name).sort(),
      queried: { code: queried.status.code, message: queried.status.message, data: queried.data },
    }),
  );
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});
