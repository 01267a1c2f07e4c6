// For placehub's tests: a codec whose fields mean nothing to placehub.
function decodeUplink(input) { return {data: {zork: input.bytes[0], frobnication: 'high'}}; }
