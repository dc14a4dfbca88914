//! The Prometheus text exposition (format 0.0.4) of a metrics registry, rendered by the
//! Prometheus project's `prometheus-client`, and the `GET /metrics` answer that carries it.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;

/// The metrics of `registry` in the Prometheus text format, version 0.0.4: `# HELP` and `# TYPE`
/// lines name each family as its samples do (a counter `x` is `x_total` throughout); help texts
/// are given without their final full stop, which the encoder adds.
pub fn text(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    prometheus_text::encode(&mut out, registry)?;
    Ok(out)
}

/// The answer to `GET /metrics`: the exposition of `registry` with its content type.
pub fn response(registry: &Registry) -> Response {
    match text(registry) {
        Ok(body) => (
            [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "could not render the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::counter::Counter;

    #[test]
    fn counters_keep_their_total_name_in_help_type_and_samples() {
        let mut registry = Registry::default();
        let counter = Counter::<u64>::default();
        registry.register("palisade_things", "Things seen", counter.clone());
        counter.inc();
        assert_eq!(
            text(&registry).unwrap(),
            "# HELP palisade_things_total Things seen.\n\
             # TYPE palisade_things_total counter\n\
             palisade_things_total 1\n"
        );
        let answer = response(&registry);
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(
            answer.headers()[header::CONTENT_TYPE],
            "text/plain; version=0.0.4; charset=utf-8"
        );
    }
}
