//! How AWS failures map onto the node autoscaler's [`ErrorClass`]es.
//!
//! The `sdk` module reduces every SDK error to a [`Failure`] (what kind of SDK failure, the AWS
//! error code, the HTTP status, the message) and [`classify`] decides the class from that alone, so
//! the table is tested without the SDK. Error codes are the Auto Scaling and EC2 ones (the query
//! protocol's `<Code>`), plus the generic AWS ones the SDK's own retry classifier knows.

use swell_node_autoscaler::provider::ErrorClass;

/// What kind of SDK failure happened, before any code is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The request could not be built (bad input, missing region or credentials).
    Construction,
    /// The request timed out.
    Timeout,
    /// The request could not be sent (connection refused, DNS, TLS). `user` is true when the SDK
    /// says the cause is the caller's (for example no credentials could be loaded).
    Dispatch {
        /// The caller's fault.
        user: bool,
    },
    /// A response arrived but could not be read (not XML, truncated).
    Response,
    /// The service answered with an error.
    Service,
}

/// An SDK failure reduced to what classification needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure<'a> {
    /// The kind.
    pub kind: FailureKind,
    /// The AWS error code, for service errors.
    pub code: Option<&'a str>,
    /// The HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The message.
    pub message: &'a str,
}

/// Codes that mean "slow down".
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "SlowDown",
    "BandwidthLimitExceeded",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Codes of failures that another try can get past.
const TRANSIENT: &[&str] = &[
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    // Auto Scaling: another update of the group is under way.
    "ResourceContentionFault",
    "ScalingActivityInProgress",
    "ScalingActivityInProgressFault",
    // Temporary credentials ran out; the credentials provider fetches new ones on the next call.
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
];

/// Codes that say the cloud has no capacity for the request.
const CAPACITY: &[&str] = &[
    "InsufficientInstanceCapacity",
    "InsufficientCapacity",
    "InsufficientHostCapacity",
    "InsufficientReservedInstanceCapacity",
    "InsufficientFreeAddressesInSubnet",
    "SpotMaxPriceTooLow",
    "MaxSpotInstanceCountExceeded",
];

/// Codes that say the thing does not exist.
const NOT_FOUND: &[&str] = &[
    "ResourceNotFound",
    "ResourceNotFoundException",
    "InvalidInstanceID.NotFound",
    "InvalidLaunchTemplateId.NotFound",
    "InvalidLaunchTemplateName.NotFoundException",
];

/// The class of a failure.
///
/// Service errors go by code first (throttling, transient, capacity, not found; Auto Scaling's
/// `ValidationError` is "not found" when its message says so, as for an unknown group or instance),
/// then by HTTP status (429 throttled, 5xx transient), and anything else the service refused is
/// [`ErrorClass::Fatal`]: permissions, validation, quotas. Timeouts and connection failures are
/// transient unless the SDK blames the caller; unreadable responses are transient when the status
/// was a 5xx (a proxy's or an emulator's HTML error page) and fatal otherwise.
pub fn classify(failure: &Failure<'_>) -> ErrorClass {
    match failure.kind {
        FailureKind::Construction => ErrorClass::Fatal,
        FailureKind::Timeout => ErrorClass::Transient,
        FailureKind::Dispatch { user: true } => ErrorClass::Fatal,
        FailureKind::Dispatch { user: false } => ErrorClass::Transient,
        FailureKind::Response => by_status(failure.status).unwrap_or(ErrorClass::Transient),
        FailureKind::Service => {
            if let Some(class) = failure.code.and_then(|code| by_code(code, failure.message)) {
                return class;
            }
            by_status(failure.status).unwrap_or(ErrorClass::Fatal)
        }
    }
}

fn by_code(code: &str, message: &str) -> Option<ErrorClass> {
    if THROTTLING.contains(&code) {
        return Some(ErrorClass::Throttled);
    }
    if TRANSIENT.contains(&code) {
        return Some(ErrorClass::Transient);
    }
    if CAPACITY.contains(&code) {
        return Some(ErrorClass::InsufficientCapacity);
    }
    if NOT_FOUND.contains(&code) || code.ends_with(".NotFound") {
        return Some(ErrorClass::NotFound);
    }
    if code == "ValidationError" {
        // "AutoScalingGroup name not found - ...", "Instance Id not found - No managed instance found
        // for instance ID: i-...": the only ValidationErrors a retry after a refresh can get past.
        let lower = message.to_ascii_lowercase();
        if lower.contains("not found") {
            return Some(ErrorClass::NotFound);
        }
        return Some(ErrorClass::Fatal);
    }
    None
}

fn by_status(status: Option<u16>) -> Option<ErrorClass> {
    match status? {
        429 => Some(ErrorClass::Throttled),
        500..=599 => Some(ErrorClass::Transient),
        400..=499 => Some(ErrorClass::Fatal),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(code: &str, status: u16, message: &str) -> ErrorClass {
        classify(&Failure {
            kind: FailureKind::Service,
            code: Some(code),
            status: Some(status),
            message,
        })
    }

    #[test]
    fn throttling_codes_are_throttled() {
        assert_eq!(service("Throttling", 400, "Rate exceeded"), ErrorClass::Throttled);
        assert_eq!(service("RequestLimitExceeded", 503, ""), ErrorClass::Throttled);
    }

    #[test]
    fn contention_and_server_errors_are_transient() {
        assert_eq!(service("ResourceContentionFault", 500, ""), ErrorClass::Transient);
        assert_eq!(
            service("ScalingActivityInProgress", 400, ""),
            ErrorClass::Transient
        );
        assert_eq!(service("SomethingNew", 503, ""), ErrorClass::Transient);
    }

    #[test]
    fn capacity_codes_are_insufficient_capacity() {
        assert_eq!(
            service(
                "InsufficientInstanceCapacity",
                500,
                "We currently do not have sufficient m5.large capacity"
            ),
            ErrorClass::InsufficientCapacity
        );
    }

    #[test]
    fn unknown_group_or_instance_is_not_found() {
        assert_eq!(
            service(
                "ValidationError",
                400,
                "AutoScalingGroup name not found - AutoScalingGroup 'x' not found"
            ),
            ErrorClass::NotFound
        );
        assert_eq!(
            service(
                "ValidationError",
                400,
                "Instance Id not found - No managed instance found for instance ID: i-1"
            ),
            ErrorClass::NotFound
        );
        assert_eq!(
            service("InvalidInstanceID.NotFound", 400, ""),
            ErrorClass::NotFound
        );
    }

    #[test]
    fn other_validation_errors_and_permissions_are_fatal() {
        assert_eq!(
            service(
                "ValidationError",
                400,
                "New SetDesiredCapacity value 11 is above max value 10"
            ),
            ErrorClass::Fatal
        );
        assert_eq!(service("AccessDenied", 403, "not authorized"), ErrorClass::Fatal);
        assert_eq!(service("LimitExceeded", 400, ""), ErrorClass::Fatal);
    }

    #[test]
    fn unknown_codes_fall_back_to_the_status() {
        assert_eq!(service("Odd", 429, ""), ErrorClass::Throttled);
        assert_eq!(service("Odd", 502, ""), ErrorClass::Transient);
        assert_eq!(service("Odd", 400, ""), ErrorClass::Fatal);
    }

    #[test]
    fn transport_failures_are_transient_unless_the_callers_fault() {
        let f = |kind, status| {
            classify(&Failure {
                kind,
                code: None,
                status,
                message: "",
            })
        };
        assert_eq!(f(FailureKind::Timeout, None), ErrorClass::Transient);
        assert_eq!(
            f(FailureKind::Dispatch { user: false }, None),
            ErrorClass::Transient
        );
        assert_eq!(f(FailureKind::Dispatch { user: true }, None), ErrorClass::Fatal);
        assert_eq!(f(FailureKind::Construction, None), ErrorClass::Fatal);
        // An HTML 500 page instead of an AWS error (moto does this for unknown groups).
        assert_eq!(f(FailureKind::Response, Some(500)), ErrorClass::Transient);
        assert_eq!(f(FailureKind::Response, Some(403)), ErrorClass::Fatal);
    }
}
