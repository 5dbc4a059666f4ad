// Validates deploy/kubernetes/ the way a cluster would, without one:
//  1. every object against the Kubernetes OpenAPI schemas (npm kubernetes-models);
//  2. every pod template against Pod Security "restricted" (plus a read-only root filesystem);
//  3. what the sidecar needs: both forms (classic, native with restartPolicy: Always), the admin
//     port declared, probes on /readyz and /healthz, scrape annotations, every Secret and
//     ConfigMap reference resolvable, a Redis Deployment and Service;
//  4. the keygate configuration in the ConfigMap passes `keygate check-config`, run with the
//     environment the pod would give keygate (the Secret's values).
// Each manifest under --invalid is a negative control: it must be refused, or the checks are
// not checking.
//
// node validate_manifests.mjs --modules DIR --keygate BIN --manifests DIR --invalid DIR
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
for (const name of ["modules", "keygate", "manifests", "invalid"]) {
  if (!args[name]) {
    console.error(`missing --${name}`);
    process.exit(2);
  }
}
const modelsDir = path.join(args.modules, "kubernetes-models");
if (!fs.existsSync(path.join(modelsDir, "package.json"))) {
  console.error(`kubernetes-models is not installed in ${args.modules}: run 'make deploy-deps' (make test does)`);
  process.exit(2);
}
const yaml = createRequire(path.join(args.modules, "noop.js"))("js-yaml");

// "apps/v1" + "Deployment" -> the model class.
async function modelFor(apiVersion, kind) {
  const dir = apiVersion.includes("/") ? apiVersion : apiVersion;  // "v1" or "group/version"
  const file = path.join(modelsDir, dir, `${kind}.js`);
  if (!fs.existsSync(file)) throw new Error(`unknown apiVersion/kind ${apiVersion} ${kind}`);
  const module = await import(pathToFileURL(file).href);
  return module[kind];
}

function readDocuments(file) {
  return yaml.loadAll(fs.readFileSync(file, "utf8")).filter((d) => d != null);
}

const RESTRICTED_VOLUMES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
  "persistentVolumeClaim", "projected", "secret"];

// Pod Security Standards, level "restricted" (and baseline, which it includes).
function podSecurityProblems(where, spec) {
  const problems = [];
  const pod = spec.securityContext || {};
  for (const key of ["hostNetwork", "hostPID", "hostIPC"])
    if (spec[key]) problems.push(`${where}: ${key} is not allowed`);
  for (const volume of spec.volumes || []) {
    const type = Object.keys(volume).find((k) => k !== "name");
    if (!RESTRICTED_VOLUMES.includes(type)) problems.push(`${where}: volume ${volume.name} of type ${type} is not allowed`);
  }
  const containers = [...(spec.initContainers || []), ...(spec.containers || [])];
  for (const c of containers) {
    const at = `${where} container ${c.name}`;
    const sc = c.securityContext || {};
    if (sc.privileged) problems.push(`${at}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation must be false`);
    const drop = (sc.capabilities && sc.capabilities.drop) || [];
    if (!drop.includes("ALL")) problems.push(`${at}: capabilities must drop ALL`);
    const add = (sc.capabilities && sc.capabilities.add) || [];
    for (const cap of add) if (cap !== "NET_BIND_SERVICE") problems.push(`${at}: capability ${cap} added`);
    const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
    if (nonRoot !== true) problems.push(`${at}: runAsNonRoot must be true`);
    if ((sc.runAsUser ?? pod.runAsUser) === 0) problems.push(`${at}: runAsUser 0`);
    const seccomp = (sc.seccompProfile || pod.seccompProfile || {}).type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") problems.push(`${at}: seccompProfile must be RuntimeDefault or Localhost`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem must be true`);
    for (const p of c.ports || []) if (p.hostPort) problems.push(`${at}: hostPort ${p.hostPort}`);
  }
  return problems;
}

function keygateContainers(spec) {
  const out = [];
  for (const c of spec.initContainers || []) if (/keygate/.test(c.image || "")) out.push({ c, native: true });
  for (const c of spec.containers || []) if (/keygate/.test(c.image || "")) out.push({ c, native: false });
  return out;
}

// The sidecar's own needs, for each keygate container of a pod template.
function sidecarProblems(where, template, objects) {
  const problems = [];
  const spec = template.spec;
  const annotations = (template.metadata && template.metadata.annotations) || {};
  for (const { c, native } of keygateContainers(spec)) {
    const at = `${where} container ${c.name}`;
    if (native && c.restartPolicy !== "Always") problems.push(`${at}: an init container without restartPolicy: Always is not a sidecar`);
    const admin = (c.ports || []).find((p) => p.containerPort === 9090);
    if (!admin) problems.push(`${at}: the admin port 9090 is not declared`);
    const probe = (p) => p && p.httpGet && p.httpGet.path;
    if (probe(c.readinessProbe) !== "/readyz") problems.push(`${at}: readinessProbe must GET /readyz`);
    if (probe(c.livenessProbe) !== "/healthz") problems.push(`${at}: livenessProbe must GET /healthz`);
    if (annotations["prometheus.io/scrape"] !== "true" || annotations["prometheus.io/port"] !== "9090")
      problems.push(`${where}: prometheus.io/scrape and prometheus.io/port: "9090" annotations missing`);
    for (const e of c.env || []) {
      const ref = e.valueFrom && e.valueFrom.secretKeyRef;
      if (!ref) continue;
      const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name === ref.name);
      const data = secret && { ...(secret.data || {}), ...(secret.stringData || {}) };
      if (!data || !(ref.key in data)) problems.push(`${at}: env ${e.name} refers to secret ${ref.name} key ${ref.key}, which no manifest defines`);
    }
  }
  for (const v of spec.volumes || []) {
    if (v.configMap && !objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === v.configMap.name))
      problems.push(`${where}: volume ${v.name} refers to ConfigMap ${v.configMap.name}, which no manifest defines`);
  }
  return problems;
}

// The pod's environment for a container, with Secret values resolved.
function containerEnv(container, objects) {
  const env = {};
  for (const e of container.env || []) {
    if (e.value !== undefined) env[e.name] = e.value;
    const ref = e.valueFrom && e.valueFrom.secretKeyRef;
    if (!ref) continue;
    const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name === ref.name);
    if (!secret) continue;
    if (secret.stringData && ref.key in secret.stringData) env[e.name] = secret.stringData[ref.key];
    else if (secret.data && ref.key in secret.data) env[e.name] = Buffer.from(secret.data[ref.key], "base64").toString();
  }
  return env;
}

function checkConfigMaps(objects, keygateEnv) {
  const problems = [];
  for (const o of objects) {
    if (o.kind !== "ConfigMap" || !o.data || !o.data["keygate.yaml"]) continue;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keygate-manifest-"));
    const file = path.join(dir, "keygate.yaml");
    fs.writeFileSync(file, o.data["keygate.yaml"]);
    try {
      execFileSync(args.keygate, ["check-config", "--config", file], {
        env: { PATH: process.env.PATH, ...keygateEnv }, stdio: ["ignore", "pipe", "pipe"], timeout: 30000,
      });
      console.log(`  ${o._where}: keygate check-config ok`);
    } catch (e) {
      problems.push(`${o._where}: keygate check-config refused it: ${(e.stderr || "").toString().trim() || e.message}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return problems;
}

// Everything wrong with a set of manifests (objects from several files validate together, as
// they are applied together).
async function problemsOf(files, givenEnv) {
  const problems = [];
  const objects = [];
  for (const file of files) {
    for (const doc of readDocuments(file)) {
      const name = `${path.basename(file)}: ${doc.kind} ${doc.metadata && doc.metadata.name}`;
      try {
        const Model = await modelFor(doc.apiVersion, doc.kind);
        new Model(doc).validate();
      } catch (e) {
        problems.push(`${name}: ${e.message}`);
        continue;
      }
      objects.push({ ...doc, _where: name });
    }
  }
  const keygateEnv = {};
  for (const o of objects) {
    const template = o.spec && o.spec.template;
    if (!template || !template.spec) continue;
    problems.push(...podSecurityProblems(o._where, template.spec));
    problems.push(...sidecarProblems(o._where, template, objects));
    for (const { c } of keygateContainers(template.spec)) Object.assign(keygateEnv, containerEnv(c, objects));
  }
  problems.push(...checkConfigMaps(objects, givenEnv || keygateEnv));
  return { problems, objects, keygateEnv };
}

const yamlFiles = (dir) => fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(dir, f));

let failed = false;
const manifests = yamlFiles(args.manifests);
console.log(`validating ${manifests.map((f) => path.basename(f)).join(", ")}`);
const { problems, objects, keygateEnv } = await problemsOf(manifests);
const deployments = objects.filter((o) => o.kind === "Deployment");
const forms = deployments.flatMap((d) => keygateContainers(d.spec.template.spec).map((k) => k.native));
if (!forms.includes(true)) problems.push("no native sidecar form (keygate as an init container with restartPolicy: Always)");
if (!forms.includes(false)) problems.push("no classic sidecar form (keygate in containers)");
if (!deployments.some((d) => /redis/.test(JSON.stringify(d.spec.template.spec.containers.map((c) => c.image)))) ||
    !objects.some((o) => o.kind === "Service" && o.metadata.name === "redis"))
  problems.push("no Redis example (Deployment and Service)");
if (!objects.some((o) => o.kind === "Secret")) problems.push("no Secret example");
for (const p of problems) console.error(`  REFUSED ${p}`);
if (problems.length) failed = true;
else console.log(`  ${objects.length} objects valid`);

// Negative controls: each file with the valid Secret and ConfigMap beside it (and the pod's
// environment from the valid manifests), refused for a fault of its own.
const support = manifests.filter((f) => /(secret|config)\.ya?ml$/.test(path.basename(f)));
for (const control of yamlFiles(args.invalid)) {
  const name = path.basename(control);
  const { problems: found } = await problemsOf([...support, control], keygateEnv);
  const own = found.filter((p) => p.startsWith(`${name}:`));
  const others = found.filter((p) => !p.startsWith(`${name}:`));
  if (own.length === 0 || others.length > 0) {
    console.error(`  NEGATIVE CONTROL NOT REFUSED FOR ITS OWN FAULT: ${name}`);
    for (const p of others) console.error(`    (other problem: ${p})`);
    failed = true;
  } else {
    console.log(`  negative control refused: ${own[0].split("\n")[0]}`);
  }
}
process.exit(failed ? 1 : 0);
