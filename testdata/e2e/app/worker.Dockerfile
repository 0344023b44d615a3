# A second image of the end-to-end app (examples/github/several-images.yml): the same
# Alpine base, the server without its npm packages.
FROM alpine:3.20
COPY server.js /worker/
USER 1000
CMD ["node", "/worker/server.js"]
