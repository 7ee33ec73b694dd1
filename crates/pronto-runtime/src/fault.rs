//! The one mapping from whose doing an error is ([`Fault`]) to what the faces answer: an HTTP
//! status and a gRPC code. Faces may answer more precisely where the protocol has a word for
//! it (413 for a body too large, 415 for a media type, NOT_FOUND for an unknown id), and
//! answer everything else from here.

use axum::http::StatusCode;
use pronto_domain::{Classified, Fault};
use tonic::{Code, Status};

/// The HTTP status of an error of `fault`.
pub fn http_status(fault: Fault) -> StatusCode {
    match fault {
        Fault::User => StatusCode::BAD_REQUEST,
        Fault::External => StatusCode::SERVICE_UNAVAILABLE,
        Fault::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The gRPC code of an error of `fault`.
pub fn grpc_code(fault: Fault) -> Code {
    match fault {
        Fault::User => Code::InvalidArgument,
        Fault::External => Code::Unavailable,
        Fault::Internal => Code::Internal,
    }
}

/// `error` as a gRPC status: its code from its fault, its message after `context`.
pub fn grpc_status(context: &str, error: &impl Classified) -> Status {
    Status::new(grpc_code(error.fault()), format!("{context}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_domain::{FieldError, ValidationErrors};

    #[test]
    fn each_fault_has_one_answer_on_each_face() {
        assert_eq!(http_status(Fault::User), StatusCode::BAD_REQUEST);
        assert_eq!(
            http_status(Fault::External),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            http_status(Fault::Internal),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(grpc_code(Fault::User), Code::InvalidArgument);
        assert_eq!(grpc_code(Fault::External), Code::Unavailable);
        assert_eq!(grpc_code(Fault::Internal), Code::Internal);
        let invalid = ValidationErrors(vec![FieldError::new("event_id", "is required")]);
        let status = grpc_status("invalid event", &invalid);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "invalid event: event_id: is required");
    }
}
