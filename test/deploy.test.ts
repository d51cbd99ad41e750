import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parsePolicy } from '../src/policy';
import { type Manifest, renderKustomization } from './support/kustomize';
import { type PodSpec, restrictedViolations } from './support/podSecurity';

/*
 * The deployment kit in deploy/: every manifest parses, and each overlay, rendered as `kubectl kustomize` renders it
 * (test/support/kustomize.ts), holds to the Kubernetes rules the kit depends on, spelled out here: kinds and
 * apiVersions, required fields, Pod Security "restricted", probes on the health port, references that resolve to
 * generated objects, and the store's replica rules. Where kubectl is installed, its rendering is compared too.
 */

const repoRoot = path.resolve(__dirname, '..');
const deployDir = path.join(repoRoot, 'deploy');
const readRepoFile = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');

const OVERLAYS = ['socket-sqlite', 'socket-postgres', 'http-sqlite', 'http-postgres'] as const;
type Overlay = (typeof OVERLAYS)[number];
const usesSqlite = (overlay: Overlay) => overlay.endsWith('-sqlite');
const usesHttp = (overlay: Overlay) => overlay.startsWith('http-');

const API_VERSIONS: Record<string, string> = {
  Deployment: 'apps/v1',
  Service: 'v1',
  PersistentVolumeClaim: 'v1',
  ConfigMap: 'v1',
  Secret: 'v1',
  PodDisruptionBudget: 'policy/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  Route: 'route.openshift.io/v1',
  Kustomization: 'kustomize.config.k8s.io/v1beta1',
  Component: 'kustomize.config.k8s.io/v1alpha1',
};

const HEALTH_PORT = 9090;
const HTTP_PORT = 3000;
const CLUSTER_INTERNAL_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
/** DNS-1123 subdomain, what most object names must be. */
const OBJECT_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** IANA_SVC_NAME, what a named port must be. */
const PORT_NAME = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const file = path.join(dir, entry);
    if (statSync(file).isDirectory()) return yamlFilesUnder(file);
    return /\.ya?ml$/.test(entry) ? [file] : [];
  });
}

/** The variables .env.example names, set or commented out. */
const envExample = readRepoFile('.env.example');
const envExampleVariables = new Set([...envExample.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));

// --- shapes the checks read --------------------------------------------------------------------------------------

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
}

interface Probe {
  httpGet?: { path: string; port: number | string };
}

interface Container {
  name: string;
  image: string;
  env?: EnvVar[];
  envFrom?: { secretRef?: { name: string }; configMapRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface Volume {
  name: string;
  configMap?: { name: string };
  persistentVolumeClaim?: { claimName: string };
}

interface Deployment extends Manifest {
  spec: {
    replicas: number;
    strategy?: { type: string };
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: Omit<PodSpec, 'containers' | 'volumes' | 'securityContext'> & {
        securityContext: {
          runAsNonRoot?: boolean;
          runAsUser?: number;
          fsGroup?: number;
          seccompProfile?: { type: string };
        };
        containers: Container[];
        volumes?: Volume[];
      };
    };
  };
}

interface NetworkPolicyPort {
  protocol?: string;
  port: number;
}

interface NetworkPolicy extends Manifest {
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: string[];
    ingress: {
      from?: { namespaceSelector?: { matchLabels: Record<string, string> } }[];
      ports?: NetworkPolicyPort[];
    }[];
    egress: { to?: { ipBlock?: { cidr: string; except?: string[] } }[]; ports?: NetworkPolicyPort[] }[];
  };
}

interface Service extends Manifest {
  spec: { selector: Record<string, string>; ports: { name?: string; port: number; targetPort: number | string }[] };
}

type Secret = Manifest & { data: Record<string, string> };
type ConfigMap = Manifest & { data: Record<string, string> };

const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);

const ofKind = <T extends Manifest>(objects: Manifest[], kind: string) => objects.filter((o) => o.kind === kind) as T[];
const only = <T extends Manifest>(objects: Manifest[], kind: string): T => {
  const found = ofKind<T>(objects, kind);
  expect(found.map((o) => `${o.kind}/${o.metadata.name}`)).toHaveLength(1);
  return found[0]!;
};
const ingressPorts = (policy: NetworkPolicy) =>
  policy.spec.ingress.flatMap((rule) => (rule.ports ?? []).map((p) => p.port)).sort();
const egressPorts = (policy: NetworkPolicy) =>
  policy.spec.egress.flatMap((rule) => (rule.ports ?? []).map((p) => p.port));

// --- rendering, from a copy with a .env made as deploy/README.md says ----------------------------------------------

let workDir: string;
const rendered = new Map<Overlay, Manifest[]>();

beforeAll(() => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'deploy-kit-'));
  // A developer's own deploy/base/.env stays where it is: the copy gets the one a new user would make.
  cpSync(deployDir, path.join(workDir, 'deploy'), {
    recursive: true,
    filter: (source) => path.basename(source) !== '.env',
  });
  // cp .env.example deploy/base/.env, and for PostgreSQL uncomment its DATABASE_URL line.
  writeFileSync(
    path.join(workDir, 'deploy/base/.env'),
    envExample.replace(/^# (DATABASE_URL=postgres:\/\/.*)$/m, '$1'),
  );
  for (const overlay of OVERLAYS)
    rendered.set(overlay, renderKustomization(path.join(workDir, 'deploy/overlays', overlay)));
});

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const render = (overlay: Overlay) => rendered.get(overlay)!;
const deploymentOf = (overlay: Overlay) => only<Deployment>(render(overlay), 'Deployment');
const botOf = (overlay: Overlay) => deploymentOf(overlay).spec.template.spec.containers[0]!;
const envOf = (overlay: Overlay, name: string) => {
  const found = (botOf(overlay).env ?? []).filter((variable) => variable.name === name);
  expect(found.map((v) => v.name)).toEqual([name]);
  return found[0]!;
};

// --- the files -----------------------------------------------------------------------------------------------------

describe('the files in deploy/', () => {
  const files = yamlFilesUnder(deployDir);
  // base/policy.yaml is the bot's policy, not a Kubernetes object: the ConfigMap is generated from it.
  const manifests = files.filter((file) => path.relative(deployDir, file) !== 'base/policy.yaml');

  it('include a base, the components and one overlay per mode and store', () => {
    const relative = files.map((file) => path.relative(deployDir, file));
    expect(relative).toEqual(
      expect.arrayContaining([
        'base/kustomization.yaml',
        ...OVERLAYS.map((overlay) => `overlays/${overlay}/kustomization.yaml`),
      ]),
    );
  });

  it.each(manifests.map((file) => path.relative(repoRoot, file)))(
    '%s parses as YAML into objects Kubernetes or kustomize knows',
    (file) => {
      const documents = parseAllDocuments(readRepoFile(file));
      for (const document of documents) {
        expect(document.errors).toEqual([]);
        const object = document.toJS() as Partial<Manifest> | null;
        if (object === null) continue;
        expect(Object.keys(API_VERSIONS)).toContain(object.kind);
        expect(object.apiVersion).toBe(API_VERSIONS[object.kind!]);
        if (object.kind !== 'Kustomization' && object.kind !== 'Component')
          expect(object.metadata?.name).toMatch(OBJECT_NAME);
      }
    },
  );

  it('commit no .env, and git ignores the one the kit reads', () => {
    const tracked = spawnSync('git', ['ls-files', 'deploy'], { cwd: repoRoot, encoding: 'utf8' });
    expect(tracked.status).toBe(0);
    expect(tracked.stdout.split('\n').filter((file) => /(^|\/)\.env$/.test(file))).toEqual([]);
    expect(spawnSync('git', ['check-ignore', '-q', 'deploy/base/.env'], { cwd: repoRoot }).status).toBe(0);
  });

  it('deploy a policy the bot accepts', () => {
    expect(() =>
      parsePolicy(readFileSync(path.join(deployDir, 'base/policy.yaml'), 'utf8'), 'deploy/base/policy.yaml'),
    ).not.toThrow();
  });
});

// --- each overlay --------------------------------------------------------------------------------------------------

describe.each(OVERLAYS)('overlay %s, rendered', (overlay) => {
  it('holds exactly the objects its mode and store need', () => {
    const kinds = render(overlay)
      .map((object) => object.kind)
      .sort();
    const expected = [
      'ConfigMap',
      'Deployment',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Secret',
      ...(usesSqlite(overlay) ? ['PersistentVolumeClaim'] : []),
      ...(usesHttp(overlay) ? ['Service'] : []),
    ].sort();
    expect(kinds).toEqual(expected);
    for (const object of render(overlay)) {
      expect(object.apiVersion).toBe(API_VERSIONS[object.kind]);
      expect(object.metadata.name).toMatch(OBJECT_NAME);
    }
  });

  it('has a Deployment whose selector picks its own pods, with named, distinct ports and variables', () => {
    const { spec } = deploymentOf(overlay);
    expect(selects(spec.selector.matchLabels, spec.template.metadata.labels)).toBe(true);
    expect(spec.template.spec.containers).toHaveLength(1);
    const bot = botOf(overlay);
    expect(bot.image).toMatch(/^[^\s:]+(:[\w.-]+)?$/);
    const ports = bot.ports ?? [];
    for (const port of ports) {
      expect(port.name).toMatch(PORT_NAME);
      expect(port.containerPort).toBeGreaterThan(0);
      expect(port.containerPort).toBeLessThan(65536);
    }
    expect(new Set(ports.map((p) => p.name)).size).toBe(ports.length);
    expect(new Set(ports.map((p) => p.containerPort)).size).toBe(ports.length);
    const names = (bot.env ?? []).map((variable) => variable.name);
    expect(new Set(names).size).toBe(names.length);
    for (const variable of bot.env ?? [])
      expect([variable.value, variable.valueFrom].filter((v) => v !== undefined)).toHaveLength(1);
    expect(bot.resources?.requests).toEqual(
      expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }),
    );
    expect(bot.resources?.limits?.memory).toEqual(expect.any(String));
  });

  it('runs a pod that Pod Security "restricted" admits, as UID 10001 with a writable volume and a read-only root', () => {
    const pod = deploymentOf(overlay).spec.template.spec;
    expect(restrictedViolations(pod)).toEqual([]);
    expect(pod.securityContext).toEqual(
      expect.objectContaining({
        runAsNonRoot: true,
        runAsUser: 10001,
        fsGroup: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      }),
    );
    expect(botOf(overlay).securityContext).toEqual(
      expect.objectContaining({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      }),
    );
  });

  it('probes /healthz and /readyz on the port named health, which is HEALTH_PORT', () => {
    const bot = botOf(overlay);
    const health = (bot.ports ?? []).find((port) => port.name === 'health');
    expect(health?.containerPort).toBe(HEALTH_PORT);
    expect(envOf(overlay, 'HEALTH_PORT').value).toBe(String(HEALTH_PORT));
    expect(bot.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'health' });
    expect(bot.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'health' });
    expect(bot.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'health' });
  });

  it('takes its environment from the generated Secret, and its policy from the generated ConfigMap', () => {
    const objects = render(overlay);
    const secrets = ofKind<Secret>(objects, 'Secret');
    const bot = botOf(overlay);
    for (const from of bot.envFrom ?? []) {
      expect(secrets.map((s) => s.metadata.name)).toContain(from.secretRef?.name);
    }
    expect(bot.envFrom?.length).toBeGreaterThan(0);
    for (const { valueFrom } of bot.env ?? []) {
      const ref = valueFrom?.secretKeyRef;
      if (!ref) continue;
      const secret = secrets.find((s) => s.metadata.name === ref.name);
      expect(secret && Object.keys(secret.data)).toContain(ref.key);
      // A user filling .env from .env.example finds the variable there.
      expect([...envExampleVariables]).toContain(ref.key);
    }

    const policyVolume = (deploymentOf(overlay).spec.template.spec.volumes ?? []).find((volume) => volume.configMap);
    const configMap = ofKind<ConfigMap>(objects, 'ConfigMap').find(
      (c) => c.metadata.name === policyVolume?.configMap?.name,
    );
    expect(configMap).toBeDefined();
    const mount = (bot.volumeMounts ?? []).find((m) => m.name === policyVolume!.name);
    expect(mount?.readOnly).toBe(true);
    const policyFile = envOf(overlay, 'POLICY_FILE').value!;
    expect(path.posix.dirname(policyFile)).toBe(mount!.mountPath);
    const policyText = configMap!.data[path.posix.basename(policyFile)];
    expect(policyText).toEqual(expect.any(String));
    expect(() => parsePolicy(policyText!, policyFile)).not.toThrow();
  });

  it('keeps a disruption budget over its own pods that lets a node drain', () => {
    const budget = only<
      Manifest & {
        spec: { maxUnavailable?: number; minAvailable?: number; selector: { matchLabels: Record<string, string> } };
      }
    >(render(overlay), 'PodDisruptionBudget');
    expect([budget.spec.maxUnavailable, budget.spec.minAvailable].filter((v) => v !== undefined)).toHaveLength(1);
    expect(budget.spec.maxUnavailable).toBeGreaterThanOrEqual(1);
    expect(selects(budget.spec.selector.matchLabels, deploymentOf(overlay).spec.template.metadata.labels)).toBe(true);
  });

  it('lets in only what its mode needs and out only DNS, HTTPS outside the cluster, and PostgreSQL where used', () => {
    const policy = only<NetworkPolicy>(render(overlay), 'NetworkPolicy');
    expect(selects(policy.spec.podSelector.matchLabels, deploymentOf(overlay).spec.template.metadata.labels)).toBe(
      true,
    );
    expect([...policy.spec.policyTypes].sort()).toEqual(['Egress', 'Ingress']);

    expect(ingressPorts(policy)).toEqual(usesHttp(overlay) ? [HTTP_PORT, HEALTH_PORT] : [HEALTH_PORT]);
    const healthRule = policy.spec.ingress.find((rule) => rule.ports?.some((p) => p.port === HEALTH_PORT));
    expect(healthRule?.from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ]);

    // Every egress rule names its ports: none lets everything out.
    for (const rule of policy.spec.egress) expect(rule.ports?.length).toBeGreaterThan(0);
    const dns = policy.spec.egress.find((rule) => rule.ports!.some((p) => p.port === 53 && p.protocol === 'UDP'));
    expect(dns).toBeDefined();
    const https = policy.spec.egress.find((rule) => rule.ports!.some((p) => p.port === 443));
    expect(https?.ports).toEqual([{ protocol: 'TCP', port: 443 }]);
    const ipv4 = https?.to?.find((peer) => peer.ipBlock?.cidr === '0.0.0.0/0');
    expect(ipv4?.ipBlock?.except).toEqual(expect.arrayContaining(CLUSTER_INTERNAL_RANGES));
    expect(egressPorts(policy).includes(5432)).toBe(!usesSqlite(overlay));
  });

  if (usesSqlite(overlay)) {
    it('keeps SQLite on its claim with exactly one replica, replaced by Recreate', () => {
      const deployment = deploymentOf(overlay);
      expect(deployment.spec.replicas).toBe(1);
      expect(deployment.spec.strategy?.type).toBe('Recreate');
      const claim = only<Manifest & { spec: { accessModes: string[]; resources: { requests: { storage: string } } } }>(
        render(overlay),
        'PersistentVolumeClaim',
      );
      expect(claim.spec.accessModes).toEqual(['ReadWriteOnce']);
      expect(claim.spec.resources.requests.storage).toMatch(/^\d+[KMGT]i$/);
      const volume = deployment.spec.template.spec.volumes?.find(
        (v) => v.persistentVolumeClaim?.claimName === claim.metadata.name,
      );
      const mount = botOf(overlay).volumeMounts?.find((m) => m.name === volume?.name);
      expect(mount?.readOnly).not.toBe(true);
      expect(envOf(overlay, 'DATABASE_URL').value).toBe(`sqlite://${mount?.mountPath}/image-builder-bot.sqlite`);
    });
  } else {
    it('runs several replicas on PostgreSQL from the Secret, with no volume and rolling updates', () => {
      const deployment = deploymentOf(overlay);
      expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
      expect(deployment.spec.strategy?.type).toBe('RollingUpdate');
      expect(deployment.spec.template.spec.volumes?.filter((v) => v.persistentVolumeClaim)).toEqual([]);
      expect(envOf(overlay, 'DATABASE_URL').valueFrom?.secretKeyRef?.key).toBe('DATABASE_URL');
    });
  }

  if (usesHttp(overlay)) {
    it('serves /slack/events through a Service on port 3000 only, in HTTP mode whatever .env says', () => {
      const service = only<Service>(render(overlay), 'Service');
      const bot = botOf(overlay);
      expect(selects(service.spec.selector, deploymentOf(overlay).spec.template.metadata.labels)).toBe(true);
      expect(service.spec.ports).toHaveLength(1);
      const [port] = service.spec.ports;
      expect(port!.port).toBe(HTTP_PORT);
      expect(bot.ports?.find((p) => p.name === port!.targetPort)?.containerPort).toBe(HTTP_PORT);
      expect(envOf(overlay, 'PORT').value).toBe(String(HTTP_PORT));
      // .env.example sets an app token; an empty value here wins over it, and the bot reads empty as unset.
      expect(envOf(overlay, 'SLACK_APP_TOKEN').value).toBe('');
      expect(envOf(overlay, 'SLACK_SIGNING_SECRET').valueFrom?.secretKeyRef?.key).toBe('SLACK_SIGNING_SECRET');
    });
  } else {
    it('opens no port for Slack in Socket Mode and takes the app token from the Secret', () => {
      expect(botOf(overlay).ports?.map((p) => p.containerPort)).toEqual([HEALTH_PORT]);
      expect(envOf(overlay, 'SLACK_APP_TOKEN').valueFrom?.secretKeyRef?.key).toBe('SLACK_APP_TOKEN');
    });
  }
});

describe('the test renderer', () => {
  const kustomizationIn = (files: Record<string, string>) => {
    const dir = mkdtempSync(path.join(workDir, 'refused-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    return dir;
  };
  const head = 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n';
  const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: d }\nspec: { replicas: 1 }\n';

  it('refuses the kustomize features it does not implement, rather than render them wrongly', () => {
    expect(() => renderKustomization(kustomizationIn({ 'kustomization.yaml': `${head}namePrefix: x-\n` }))).toThrow(
      /does not implement namePrefix/,
    );
    const listPatch = kustomizationIn({
      'kustomization.yaml': `${head}resources: [d.yaml]\npatches: [{ path: p.yaml }]\n`,
      'd.yaml': deployment,
      'p.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: d }\nspec: { template: { spec: { containers: [] } } }\n',
    });
    expect(() => renderKustomization(listPatch)).toThrow(/a list in a strategic-merge patch/);
  });

  it('reads no file from outside the kustomization, as kustomize refuses to', () => {
    const outside = kustomizationIn({
      'kustomization.yaml': `${head}secretGenerator: [{ name: s, envs: [../../.env] }]\n`,
    });
    expect(() => renderKustomization(outside)).toThrow(/load restrictor/);
  });
});

describe('the Pod Security "restricted" check', () => {
  it('names what the admission controller would refuse in a pod', () => {
    const pod: PodSpec = {
      hostNetwork: true,
      securityContext: { runAsUser: 0 },
      volumes: [{ name: 'host', hostPath: { path: '/' } } as { name: string }],
      containers: [
        {
          name: 'bot',
          ports: [{ containerPort: 80, hostPort: 80 }],
          securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] } },
        },
      ],
    };
    expect(restrictedViolations(pod)).toEqual([
      'spec.hostNetwork must not be true',
      'spec.securityContext.runAsUser must not be 0',
      'volume host: type hostPath is not allowed',
      'container bot: securityContext.privileged must not be true',
      'container bot: hostPort 80 is not allowed',
      'container bot: securityContext.allowPrivilegeEscalation must be false',
      'container bot: securityContext.runAsNonRoot must be true (here or for the pod)',
      'container bot: securityContext.seccompProfile must be set (here or for the pod)',
      'container bot: securityContext.capabilities.drop must include ALL',
      'container bot: securityContext.capabilities.add: SYS_ADMIN is not allowed',
    ]);
  });
});

describe('the OpenShift Route example', () => {
  const [route] = parseAllDocuments(readRepoFile('deploy/components/http-mode/openshift-route.example.yaml')).map((d) =>
    d.toJS(),
  ) as (Manifest & {
    spec: {
      path: string;
      to: { kind: string; name: string };
      port: { targetPort: string };
      tls: { termination: string };
    };
  })[];

  it('routes only /slack/events, over TLS, to the HTTP Service port', () => {
    const service = only<Service>(render('http-sqlite'), 'Service');
    expect(route!.spec.path).toBe('/slack/events');
    expect(route!.spec.to).toEqual(expect.objectContaining({ kind: 'Service', name: service.metadata.name }));
    expect(service.spec.ports.map((p) => p.name)).toContain(route!.spec.port.targetPort);
    expect(['edge', 'reencrypt', 'passthrough']).toContain(route!.spec.tls.termination);
  });
});

// --- against kubectl ---------------------------------------------------------------------------------------------

const kubectlInstalled = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

describe('compared with kubectl kustomize', () => {
  if (!kubectlInstalled) {
    it.skip('kubectl is not installed here (looked for `kubectl` on PATH), so only the test renderer checked the overlays', () => {});
    return;
  }
  it.each(OVERLAYS)('%s renders as kubectl kustomize renders it', (overlay) => {
    const result = spawnSync('kubectl', ['kustomize', path.join(workDir, 'deploy/overlays', overlay)], {
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const byId = (objects: Manifest[]) => new Map(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
    const fromKubectl = byId(parseAllDocuments(result.stdout).map((d) => d.toJS() as Manifest));
    const ours = byId(render(overlay));
    expect([...ours.keys()].sort()).toEqual([...fromKubectl.keys()].sort());
    for (const [id, object] of ours) expect({ id, object }).toEqual({ id, object: fromKubectl.get(id) });
  });
});

// --- project files and one version ------------------------------------------------------------------------------

describe('the project files', () => {
  const packageJson = JSON.parse(readRepoFile('package.json')) as { version: string; license: string };

  it('include the license package.json names, in full, and a security policy', () => {
    expect(packageJson.license).toBe('Apache-2.0');
    const license = readRepoFile('LICENSE');
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(license).toContain('END OF TERMS AND CONDITIONS');
    expect(readRepoFile('SECURITY.md')).toMatch(/privately/i);
  });

  const { version } = packageJson;
  const imageTags = (text: string) =>
    [...text.matchAll(/image-builder-bot:(\d+\.\d+\.\d+\S*)/g)].map((m) => m[1]!.replace(/[`'")\].,]+$/, ''));

  it("say one version: package.json's, in every image tag of the README and deploy/ and as the changelog's newest release", () => {
    const readmeTags = imageTags(readRepoFile('README.md'));
    const deployTags = yamlFilesUnder(deployDir)
      .concat(path.join(deployDir, 'README.md'))
      .flatMap((file) => imageTags(readFileSync(file, 'utf8')));
    expect(readmeTags.length).toBeGreaterThan(0);
    expect(deployTags.length).toBeGreaterThan(0);
    expect(new Set([...readmeTags, ...deployTags])).toEqual(new Set([version]));
    // The newest release the changelog names, after Unreleased.
    const released = [...readRepoFile('CHANGELOG.md').matchAll(/^## \[(\d+\.\d+\.\d+)\]/gm)].map((m) => m[1]);
    expect(released[0]).toBe(version);
  });
});
