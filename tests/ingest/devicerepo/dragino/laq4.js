// Dragino LAQ4, written for placehub's tests from Dragino's user manual (fPort 2, 11 bytes):
// work mode 1 (CO2) readings, or mode 31 (alarm thresholds).
function s16(b, i) { var v = (b[i] << 8) | b[i + 1]; return v & 0x8000 ? v - 0x10000 : v; }
function s8(v) { return v & 0x80 ? v - 0x100 : v; }
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 2) { return {errors: ['unknown FPort']}; }
  if (b.length !== 11) { return {errors: ['payload must be 11 bytes']}; }
  var mode = (b[2] & 0x7C) >> 2;
  var data = {Bat_V: ((b[0] << 8) | b[1]) / 1000};
  if (mode === 1) {
    data.Work_mode = 'CO2';
    data.Alarm_status = (b[2] & 0x01) ? 'TRUE' : 'FALSE';
    data.TVOC_ppb = (b[3] << 8) | b[4];
    data.CO2_ppm = (b[5] << 8) | b[6];
    data.TempC_SHT = s16(b, 7) / 10;
    data.Hum_SHT = ((b[9] << 8) | b[10]) / 10;
  } else if (mode === 31) {
    data.Work_mode = 'ALARM';
    data.SHTEMP_MIN = s8(b[3]);
    data.SHTEMP_MAX = s8(b[4]);
    data.SHHUM_MIN = b[5];
    data.SHHUM_MAX = b[6];
    data.CO2_MIN = (b[7] << 8) | b[8];
    data.CO2_MAX = (b[9] << 8) | b[10];
  } else {
    return {errors: ['unknown work mode ' + mode]};
  }
  return {data: data};
}
