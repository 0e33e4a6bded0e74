# smsflow in a container: a static binary (no C library, time zones built
# in) on an empty base image, run as a non-root user, with /data as the
# working directory and volume — the SQLite database (sqlite:/data/smsflow.db),
# ./flows (/data/flows) and ./smsflow.yaml (/data/smsflow.yaml) live there.
#
#   docker build -t smsflow .
#   docker run -p 127.0.0.1:8080:8080 -v smsflow-data:/data smsflow
#
# compose.yaml runs it on PostgreSQL instead.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/smsflow ./cmd/smsflow \
 && mkdir -p /out/data /out/tmp && chmod 1777 /out/tmp

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/smsflow /smsflow
COPY --from=build /out/tmp /tmp
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
ENV SMSFLOW_ADDR=0.0.0.0:8080 \
    SMSFLOW_DB=sqlite:/data/smsflow.db
EXPOSE 8080
VOLUME /data
ENTRYPOINT ["/smsflow"]
CMD ["serve"]
