extension KubernetesObjects {
    /// The pod a Deployment or a Job makes: its labels and its spec.
    struct PodTemplate: Encodable, Sendable, Hashable {
        var metadata: TemplateMetadata
        var spec: PodSpec
    }

    /// The pod: the init containers that wait for dependencies, the `orchestrate` container and its volumes.
    struct PodSpec: Encodable, Sendable, Hashable {
        var restartPolicy: String?
        var activeDeadlineSeconds: Int?
        var terminationGracePeriodSeconds: Int
        var initContainers: [Container]?
        var containers: [Container]
        var volumes: [Volume]
    }

    /// One container.
    struct Container: Encodable, Sendable, Hashable {
        var name: String
        var image: String
        var workingDir: String?
        var command: [String]
        var env: [EnvVar]?
        var ports: [ContainerPort]?
        var volumeMounts: [VolumeMount]?
        var readinessProbe: Probe?
        var livenessProbe: Probe?
    }

    /// A port the container listens on, named for the Service.
    struct ContainerPort: Encodable, Sendable, Hashable {
        var name: String
        var containerPort: Int
        var `protocol` = "TCP"
    }

    /// An environment variable: a value, or a key of a Secret.
    struct EnvVar: Encodable, Sendable, Hashable {
        var name: String
        var value: String?
        var valueFrom: EnvVarSource?
    }

    /// Where a variable's value comes from when it is not written in the object.
    struct EnvVarSource: Encodable, Sendable, Hashable {
        var secretKeyRef: SecretKeySelector
    }

    /// A key of a Secret.
    struct SecretKeySelector: Encodable, Sendable, Hashable {
        var name: String
        var key: String
    }

    /// A readiness or liveness probe: one of an HTTP GET, a TCP connection or a command, and its timing.
    struct Probe: Encodable, Sendable, Hashable {
        var httpGet: HTTPGetAction?
        var tcpSocket: TCPSocketAction?
        var exec: ExecAction?
        var initialDelaySeconds: Int?
        var periodSeconds: Int
        var timeoutSeconds: Int
        var failureThreshold: Int?
    }

    /// A GET of the pod's IP that passes on 2xx and 3xx.
    struct HTTPGetAction: Encodable, Sendable, Hashable {
        var path: String
        var port: Int
        var scheme: String
    }

    /// A TCP connection to the pod's IP.
    struct TCPSocketAction: Encodable, Sendable, Hashable {
        var port: Int
    }

    /// A command run in the container that passes when it exits 0.
    struct ExecAction: Encodable, Sendable, Hashable {
        var command: [String]
    }

    /// A volume of the pod: the ConfigMap, or an empty folder for the pod's life.
    struct Volume: Encodable, Sendable, Hashable {
        var name: String
        var configMap: ConfigMapVolumeSource?
        var emptyDir: EmptyDirVolumeSource?
    }

    /// A ConfigMap mounted as a folder (one file per key), which the kubelet updates when the ConfigMap changes.
    struct ConfigMapVolumeSource: Encodable, Sendable, Hashable {
        var name: String
    }

    /// An empty folder on the node, written `{}`.
    struct EmptyDirVolumeSource: Encodable, Sendable, Hashable {}

    /// Where a volume is mounted in the container.
    struct VolumeMount: Encodable, Sendable, Hashable {
        var name: String
        var mountPath: String
        var readOnly: Bool?
    }
}
