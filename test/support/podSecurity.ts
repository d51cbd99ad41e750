/*
 * Pod Security Standards, "restricted" profile (which includes "baseline"), spelled out from
 * kubernetes.io/docs/concepts/security/pod-security-standards as of Kubernetes 1.32: what the admission controller
 * checks in a pod spec. Returns one sentence per violation, naming the field, so a test shows what would be refused.
 */

interface SecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  procMount?: string;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
  appArmorProfile?: { type?: string };
  seLinuxOptions?: { type?: string; user?: string; role?: string };
  windowsOptions?: { hostProcess?: boolean };
  sysctls?: { name: string }[];
}

interface Container {
  name: string;
  ports?: { containerPort?: number; hostPort?: number }[];
  securityContext?: SecurityContext;
}

export interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext;
  containers: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  /** Each volume is its name and one key naming its type (configMap, persistentVolumeClaim, hostPath…). */
  volumes?: { name: string }[];
}

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

function contextViolations(context: SecurityContext | undefined, at: string): string[] {
  if (!context) return [];
  const problems: string[] = [];
  if (context.windowsOptions?.hostProcess) problems.push(`${at}.windowsOptions.hostProcess must not be true`);
  if (context.privileged) problems.push(`${at}.privileged must not be true`);
  if (context.procMount !== undefined && context.procMount !== 'Default')
    problems.push(`${at}.procMount must be Default`);
  if (context.runAsNonRoot === false) problems.push(`${at}.runAsNonRoot must not be false`);
  if (context.runAsUser === 0) problems.push(`${at}.runAsUser must not be 0`);
  const seccomp = context.seccompProfile?.type;
  if (seccomp !== undefined && seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
    problems.push(`${at}.seccompProfile.type must be RuntimeDefault or Localhost`);
  const appArmor = context.appArmorProfile?.type;
  if (appArmor !== undefined && appArmor !== 'RuntimeDefault' && appArmor !== 'Localhost')
    problems.push(`${at}.appArmorProfile.type must be RuntimeDefault or Localhost`);
  const seLinux = context.seLinuxOptions;
  if (seLinux && (!SELINUX_TYPES.has(seLinux.type ?? '') || seLinux.user || seLinux.role))
    problems.push(`${at}.seLinuxOptions sets a type, user or role that is not allowed`);
  for (const { name } of context.sysctls ?? [])
    if (!SAFE_SYSCTLS.has(name)) problems.push(`${at}.sysctls: ${name} is not a safe sysctl`);
  return problems;
}

/** Every way the pod spec breaks Pod Security "restricted"; empty when it would be admitted. */
export function restrictedViolations(pod: PodSpec): string[] {
  const problems: string[] = [];
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const)
    if (pod[field]) problems.push(`spec.${field} must not be true`);
  problems.push(...contextViolations(pod.securityContext, 'spec.securityContext'));
  for (const volume of pod.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== 'name');
    if (!type || !RESTRICTED_VOLUME_TYPES.has(type))
      problems.push(`volume ${volume.name}: type ${type} is not allowed`);
  }
  const containers = [...pod.containers, ...(pod.initContainers ?? []), ...(pod.ephemeralContainers ?? [])];
  for (const container of containers) {
    const at = `container ${container.name}: securityContext`;
    const context = container.securityContext ?? {};
    problems.push(...contextViolations(container.securityContext, at));
    for (const port of container.ports ?? [])
      if (port.hostPort) problems.push(`container ${container.name}: hostPort ${port.hostPort} is not allowed`);
    if (context.allowPrivilegeEscalation !== false) problems.push(`${at}.allowPrivilegeEscalation must be false`);
    if (context.runAsNonRoot !== true && pod.securityContext?.runAsNonRoot !== true)
      problems.push(`${at}.runAsNonRoot must be true (here or for the pod)`);
    if (!context.seccompProfile?.type && !pod.securityContext?.seccompProfile?.type)
      problems.push(`${at}.seccompProfile must be set (here or for the pod)`);
    if (!context.capabilities?.drop?.includes('ALL')) problems.push(`${at}.capabilities.drop must include ALL`);
    for (const added of context.capabilities?.add ?? []) {
      if (added !== 'NET_BIND_SERVICE')
        problems.push(
          `${at}.capabilities.add: ${added} is not allowed${BASELINE_CAPABILITIES.has(added) ? ' under restricted' : ''}`,
        );
    }
  }
  return problems;
}
