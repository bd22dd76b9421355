import FoundationEssentials
import Manifest

/// The Kubernetes objects `export kubernetes` writes, as Codable structs of exactly the fields it sets (the API's
/// names and shapes, so that JSONEncoder writes what `kubectl apply` reads): a ConfigMap, CronJobs, Deployments and
/// Services, and their pods in KubernetesObjects+Pod.swift.
enum KubernetesObjects {
    /// The keys written first, in this order; the others follow sorted, as JSONEncoder's `sortedKeys` writes them
    /// (its order is otherwise not stable).
    private static let leadingKeys = [
        "apiVersion", "kind", "metadata", "name", "namespace", "spec", "image", "workingDir", "command",
        "initContainers",
    ]

    /// `object` as block YAML: `apiVersion`, `kind`, `metadata` and `spec` first, as people write them.
    static func yaml(_ object: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these structs of strings, numbers and optionals cannot fail, nor can parsing what it wrote.
        let data = try! encoder.encode(object)
        return ordered(try! JSONValue.parse(Array(data))).blockYAML()
    }

    private static func ordered(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let items): return .array(items.map(ordered))
        case .object(let pairs):
            let rank = { (key: String) in leadingKeys.firstIndex(of: key) ?? leadingKeys.count }
            return .object(
                pairs.map { ($0.0, ordered($0.1)) }.enumerated()
                    .sorted { (rank($0.element.0), $0.offset) < (rank($1.element.0), $1.offset) }.map(\.element)
            )
        default: return value
        }
    }

    /// An object's name, namespace, labels and annotations (`metadata`).
    struct Metadata: Encodable, Sendable, Hashable {
        var name: String
        var namespace: String?
        var labels: [String: String]
        var annotations: [String: String]?
    }

    /// A pod template's or job template's metadata: labels and annotations, no name.
    struct TemplateMetadata: Encodable, Sendable, Hashable {
        var labels: [String: String]
        var annotations: [String: String]?
    }

    /// A `v1` ConfigMap: files by name.
    struct ConfigMap: Encodable, Sendable, Hashable {
        let apiVersion = "v1"
        let kind = "ConfigMap"
        var metadata: Metadata
        var data: [String: String]
    }

    /// A `v1` Service of type ClusterIP in front of one daemon's pod.
    struct Service: Encodable, Sendable, Hashable {
        let apiVersion = "v1"
        let kind = "Service"
        var metadata: Metadata
        var spec: ServiceSpec
    }

    /// What a Service selects and the ports it forwards.
    struct ServiceSpec: Encodable, Sendable, Hashable {
        var type = "ClusterIP"
        var selector: [String: String]
        var ports: [ServicePort]
    }

    /// One port of a Service, forwarded to the same port of the pod.
    struct ServicePort: Encodable, Sendable, Hashable {
        var name: String
        var port: Int
        var targetPort: Int
        var `protocol` = "TCP"
    }

    /// An `apps/v1` Deployment of one pod running one daemon's supervisor.
    struct Deployment: Encodable, Sendable, Hashable {
        let apiVersion = "apps/v1"
        let kind = "Deployment"
        var metadata: Metadata
        var spec: DeploymentSpec
    }

    /// One replica, replaced by stopping the old pod first.
    struct DeploymentSpec: Encodable, Sendable, Hashable {
        var replicas = 1
        var strategy = Strategy()
        var selector: LabelSelector
        var template: PodTemplate
    }

    /// `Recreate`: the old pod stops before the new one starts, as `orchestrate up` never runs a daemon twice.
    struct Strategy: Encodable, Sendable, Hashable {
        var type = "Recreate"
    }

    /// The labels a Deployment's pods carry.
    struct LabelSelector: Encodable, Sendable, Hashable {
        var matchLabels: [String: String]
    }

    /// A `batch/v1` CronJob: a Job, made of one pod, at each time of its schedule.
    struct CronJob: Encodable, Sendable, Hashable {
        let apiVersion = "batch/v1"
        let kind = "CronJob"
        var metadata: Metadata
        var spec: CronJobSpec
    }

    /// When the Jobs start and what one does while the last one still runs.
    struct CronJobSpec: Encodable, Sendable, Hashable {
        var schedule: String
        var timeZone: String?
        var concurrencyPolicy: String
        var jobTemplate: JobTemplate
    }

    /// The Job each time of the schedule makes.
    struct JobTemplate: Encodable, Sendable, Hashable {
        var metadata: TemplateMetadata
        var spec: JobSpec
    }

    /// How many new pods a failed run gets, and the pod.
    struct JobSpec: Encodable, Sendable, Hashable {
        var backoffLimit: Int
        var template: PodTemplate
    }
}
