// For placehub's tests: a codec that never returns.
function decodeUplink(input) { var n = 0; while (n >= 0) { n = (n + 1) % 1000; } return {data: {}}; }
