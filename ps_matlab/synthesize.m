function synthesize(targetFile, init, Niter, matFile, pngFile, seed)
% SYNTHESIZE  One Portilla-Simoncelli metamer with the original textureSynth code.
%
%   synthesize(targetFile, init, Niter, matFile, pngFile)
%   synthesize(targetFile, init, Niter, matFile, pngFile, seed)
%
%   targetFile  grayscale image file (read as double, 0-255 scale)
%   init        initial image file, OR a size [Ny Nx] for textureSynthesis'
%               own Gaussian-noise start
%   Niter       number of textureSynthesis iterations
%   matFile     MAT file (version 7) written with res (the metamer, 0-255),
%               initToc and synthToc (seconds since the start of this function,
%               at the end of textureAnalysis and of textureSynthesis)
%   pngFile     the metamer as an 8-bit PNG (clipped to 0-255)
%   seed        optional: seeds rand and randn first. textureAnalysis adds
%               random noise to the target, adjustCorr*s draw random rotations
%               and a size init is random noise, so without a seed Octave runs
%               differ from each other.
%
%   Needs textureSynth and matlabPyrTools on the path. Part of the plenoptic
%   experiments repository (ps_matlab); called by plenexp/matlab.py.

  tic;
  if nargin >= 6 && ~isempty(seed)
    rand('state', seed);
    randn('state', seed);
  end
  im0 = readGray(targetFile);
  if ischar(init)
    initIm = readGray(init);
    if ~isequal(size(initIm), size(im0))
      error('synthesize: initial image %s is %dx%d but the target is %dx%d', ...
            init, size(initIm, 1), size(initIm, 2), size(im0, 1), size(im0, 2));
    end
  else
    initIm = init;
  end
  params = textureAnalysis(im0, 4, 4, 9);   % Nsc=4, Nor=4, Na=9
  initToc = toc;
  res = textureSynthesis(params, initIm, Niter);
  synthToc = toc;
  fprintf('textureSynthesis: %d iterations in %.3f s (analysis %.3f s)\n', ...
          Niter, synthToc - initToc, initToc);
  save('-v7', matFile, 'res', 'initToc', 'synthToc');
  imwrite(uint8(min(max(round(res), 0), 255)), pngFile);
end

function im = readGray(file)
  im = imread(file);
  if ndims(im) ~= 2
    error('synthesize: %s is not a grayscale image', file);
  end
  im = double(im);
end
