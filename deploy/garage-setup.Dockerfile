# The `garage-setup` service of docker-compose.yml: Garage's image holds only its (static) binary, so the setup
# script runs in BusyBox with that binary copied in.
FROM dxflrs/garage:v2.5.0 AS garage

FROM busybox:1.37
COPY --from=garage /garage /usr/local/bin/garage
COPY garage-setup.sh /usr/local/bin/garage-setup
ENTRYPOINT ["/bin/sh", "/usr/local/bin/garage-setup"]
