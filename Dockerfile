# tcpscribe on Debian 12: docker build -t tcpscribe . &&
#   docker run --rm -v "$PWD:/data" tcpscribe -r /data/capture.pcap -o /data/flows
FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN bash scripts/setup.sh && strip build/tcpscribe

FROM debian:12-slim
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libpcap0.8 libboost-program-options1.74.0 libjemalloc2 libssl3 libnghttp2-14 libbrotli1 libzstd1 libre2-9 libpcre2-8-0 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/tcpscribe /usr/local/bin/tcpscribe
COPY --from=build /src/man/tcpscribe.1 /usr/local/share/man/man1/tcpscribe.1
ENTRYPOINT ["tcpscribe"]
