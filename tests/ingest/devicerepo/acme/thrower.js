// For placehub's tests: a codec that throws on every uplink.
function decodeUplink(input) { return {data: {temperature: input.bytes[0].toFixed(1) + undefinedVariable}}; }
